import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AppConfigClient,
  BadRequestException,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateEnvironmentCommand,
  CreateExtensionAssociationCommand,
  CreateExtensionCommand,
  CreateHostedConfigurationVersionCommand,
  GetDeploymentCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LambdaServer, startLambdaServer } from '../lambda/server.js';
import { type AppConfigServer, startAppConfigServer } from './server.js';

// Extension handlers as a plugin author would write them; `record` appends every event to a file so the test can
// check the payloads AppConfig sent.
const HANDLERS = `
import { appendFileSync } from 'node:fs';
const record = (event) => appendFileSync(process.env.EVENTS_FILE, JSON.stringify(event) + '\\n');
const text = (event) => Buffer.from(event.Content, 'base64').toString('utf8');

export const guard = async (event) => {
  record(event);
  if (text(event).includes('forbidden')) {
    return {
      Error: 'BadRequestError',
      Message: 'There was malformed stuff in here',
      Details: [{ Type: 'Malformed', Name: 'S3 pointer', Reason: 'S3 bucket did not exist' }],
    };
  }
  if (text(event).includes('crash')) throw new RangeError('guard crashed');
  return null;
};
export const gatekeeper = async (event) =>
  event.Description.includes('forbidden') ? { Error: 'Blocked', Message: 'change freeze' } : null;
export const upper = async (event) => ({ Content: Buffer.from(text(event).toUpperCase()).toString('base64') });
export const observe = async (event) => {
  record(event);
  return event.Type === 'AtDeploymentTick' ? { Directive: 'CONTINUE' } : null;
};
export const failing = async () => { throw new Error('notification target down'); };
export const veto = async (event) => {
  record(event);
  return { Directive: 'ROLL_BACK', Description: 'Monitor 123 is not OK' };
};
`;

const lambdaArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

describe('AppConfig extensions invoked through the local Lambda', () => {
  let dir: string;
  let eventsFile: string;
  let lambda: LambdaServer;
  let appconfig: AppConfigServer;
  let client: AppConfigClient;
  let appId: string;
  let profileId: string;
  const arn = (res: string) => `arn:aws:appconfig:us-east-1:000000000000:application/${appId}${res}`;
  const events = async () =>
    (await readFile(eventsFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const fails = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected an error'),
      (e: unknown) => e as Error,
    );
  const put = (content: string) =>
    client.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: appId,
        ConfigurationProfileId: profileId,
        Content: Buffer.from(content),
        ContentType: 'text/plain',
      }),
    );
  const extension = async (
    name: string,
    actions: Record<string, string>,
    parameters?: Record<string, object>,
  ) =>
    client.send(
      new CreateExtensionCommand({
        Name: name,
        Actions: Object.fromEntries(
          Object.entries(actions).map(([point, fn]) => [
            point,
            [{ Name: `${name}-${point}`, Uri: lambdaArn(fn) }],
          ]),
        ),
        ...(parameters ? { Parameters: parameters } : {}),
      }),
    );
  const associate = (
    ExtensionIdentifier: string,
    ResourceIdentifier: string,
    Parameters?: Record<string, string>,
  ) =>
    client.send(
      new CreateExtensionAssociationCommand({ ExtensionIdentifier, ResourceIdentifier, Parameters }),
    );
  const environment = async (Name: string) =>
    (await client.send(new CreateEnvironmentCommand({ ApplicationId: appId, Name }))).Id!;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipewright-appconfig-ext-'));
    eventsFile = path.join(dir, 'events.jsonl');
    const file = path.join(dir, 'handlers.mjs');
    await writeFile(file, HANDLERS);
    lambda = await startLambdaServer({
      functions: ['guard', 'gatekeeper', 'upper', 'observe', 'failing', 'veto'].map((name) => ({
        name,
        handler: file,
        exportName: name,
        environment: { EVENTS_FILE: eventsFile },
      })),
    });
    appconfig = await startAppConfigServer({ lambda, timeScale: 10, tickIntervalMs: 5 });
    client = new AppConfigClient({
      endpoint: appconfig.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    appId = (await client.send(new CreateApplicationCommand({ Name: 'shop' }))).Id!;
    profileId = (
      await client.send(
        new CreateConfigurationProfileCommand({
          ApplicationId: appId,
          Name: 'settings',
          LocationUri: 'hosted',
        }),
      )
    ).Id!;
    const guard = await extension('guard', { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'guard' });
    await associate(guard.Id!, arn(''));
  });
  afterAll(async () => {
    client?.destroy();
    await appconfig?.close();
    await lambda?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a hosted version with the extension error as BadRequestException details', async () => {
    const err = await fails(put('this is forbidden'));
    expect(err).toBeInstanceOf(BadRequestException);
    expect(err.message).toContain('There was malformed stuff in here');
    expect((err as BadRequestException).Details?.InvalidConfiguration).toEqual([
      { Type: 'Malformed', Location: 'S3 pointer', Reason: 'S3 bucket did not exist' },
    ]);
    const crashed = (await fails(put('crash'))) as BadRequestException;
    expect(crashed.message).toContain('guard crashed');
    expect(crashed.Details?.InvalidConfiguration?.[0]).toMatchObject({
      Type: 'RangeError',
      Reason: 'guard crashed',
    });
    expect(crashed.Details?.InvalidConfiguration?.[0]?.Value).toContain('"errorType":"RangeError"');
  });

  it('sends the documented PRE_CREATE payload and stores the content an extension returns', async () => {
    const first = await put('hello');
    expect(first.VersionNumber).toBe(1);
    const upper = await extension('upper', { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'upper' });
    await associate(upper.Id!, arn(`/configurationprofile/${profileId}`));
    const second = await put('second version');
    const stored = await client.send(
      new GetHostedConfigurationVersionCommand({
        ApplicationId: appId,
        ConfigurationProfileId: profileId,
        VersionNumber: second.VersionNumber,
      }),
    );
    expect(Buffer.from(stored.Content!).toString()).toBe('SECOND VERSION');
    const pre = (await events()).filter((e) => e.Type === 'PreCreateHostedConfigurationVersion').at(-1)!;
    expect(pre).toMatchObject({
      ContentType: 'text/plain',
      ContentVersion: '2',
      Content: Buffer.from('second version').toString('base64'),
      Application: { Id: appId, Name: 'shop' },
      ConfigurationProfile: { Id: profileId, Name: 'settings' },
      Parameters: {},
      PreviousContent: {
        ContentType: 'text/plain',
        ContentVersion: '1',
        Content: Buffer.from('hello').toString('base64'),
      },
    });
    expect(pre.InvocationId).toMatch(/^[a-z0-9]{7}$/);
  });

  it('runs PRE_START_DEPLOYMENT with dynamic parameters, ticks, and records ON_* invocations', async () => {
    const envId = await environment('prod');
    const observer = await extension(
      'observer',
      {
        PRE_START_DEPLOYMENT: 'observe',
        AT_DEPLOYMENT_TICK: 'observe',
        ON_DEPLOYMENT_START: 'observe',
        ON_DEPLOYMENT_BAKING: 'observe',
        ON_DEPLOYMENT_COMPLETE: 'observe',
      },
      { team: { Required: true }, ticket: { Dynamic: true } },
    );
    await associate(observer.Id!, arn(`/environment/${envId}`), { team: 'payments' });
    const noisy = await extension('noisy', { ON_DEPLOYMENT_COMPLETE: 'failing' });
    await associate(noisy.Id!, arn(`/environment/${envId}`));

    const notDynamic = await fails(
      client.send(
        new StartDeploymentCommand({
          ApplicationId: appId,
          EnvironmentId: envId,
          DeploymentStrategyId: 'AppConfig.AllAtOnce',
          ConfigurationProfileId: profileId,
          ConfigurationVersion: '1',
          DynamicExtensionParameters: { [`${observer.Id}#team`]: 'x' },
        }),
      ),
    );
    expect(notDynamic).toBeInstanceOf(BadRequestException);

    const started = await client.send(
      new StartDeploymentCommand({
        ApplicationId: appId,
        EnvironmentId: envId,
        DeploymentStrategyId: 'AppConfig.AllAtOnce',
        ConfigurationProfileId: profileId,
        ConfigurationVersion: '1',
        Description: 'release 42',
        DynamicExtensionParameters: { [`${observer.Id}#ticket`]: 'CHG-1234' },
      }),
    );
    expect(started).toMatchObject({ DeploymentNumber: 1, State: 'DEPLOYING' });
    expect(started.StartedAt).toBeInstanceOf(Date);
    // Every association of the application, environment and profile applies, in that order.
    expect(started.AppliedExtensions).toHaveLength(4);
    expect(started.AppliedExtensions?.slice(1, 3)).toEqual([
      expect.objectContaining({
        ExtensionId: observer.Id,
        Parameters: { team: 'payments', ticket: 'CHG-1234' },
      }),
      expect.objectContaining({ ExtensionId: noisy.Id }),
    ]);
    const { state } = await appconfig.waitForDeployment(appId, envId, 1);
    expect(state).toBe('COMPLETE');

    const all = await events();
    const preStart = all.find((e) => e.Type === 'PreStartDeployment')!;
    expect(preStart).toMatchObject({
      Parameters: { team: 'payments', ticket: 'CHG-1234' },
      Content: Buffer.from('hello').toString('base64'),
      ContentVersion: '1',
      Environment: { Id: envId, Name: 'prod' },
      DeploymentNumber: 1,
      Description: 'release 42',
    });
    const tick = all.find((e) => e.Type === 'AtDeploymentTick')!;
    expect(tick).toMatchObject({
      DeploymentNumber: 1,
      ConfigurationVersion: '1',
      DeploymentState: 'DEPLOYING',
    });
    expect(typeof tick.PercentageComplete).toBe('string');
    expect(all.map((e) => e.Type)).toEqual(
      expect.arrayContaining(['OnDeploymentStart', 'OnDeploymentBaking', 'OnDeploymentComplete']),
    );

    const d = await client.send(
      new GetDeploymentCommand({ ApplicationId: appId, EnvironmentId: envId, DeploymentNumber: 1 }),
    );
    expect(d).toMatchObject({ State: 'COMPLETE', PercentageComplete: 100 });
    expect(d.EventLog?.map((e) => e.EventType)).toEqual([
      'DEPLOYMENT_COMPLETED',
      'BAKE_TIME_STARTED',
      'PERCENTAGE_UPDATED',
      'DEPLOYMENT_STARTED',
    ]);
    const completed = d.EventLog![0]!.ActionInvocations!;
    expect(completed).toHaveLength(2);
    expect(completed.find((i) => i.ExtensionIdentifier === noisy.Id)).toMatchObject({
      ErrorCode: 'Error',
      ErrorMessage: 'notification target down',
    });
    expect(completed.find((i) => i.ExtensionIdentifier === observer.Id)?.ErrorCode).toBeUndefined();
    const list = await client.send(
      new ListDeploymentsCommand({ ApplicationId: appId, EnvironmentId: envId }),
    );
    expect(list.Items?.[0]).toMatchObject({ DeploymentNumber: 1, State: 'COMPLETE' });
  });

  it('rolls a deployment back when a tick answers ROLL_BACK', async () => {
    const envId = await environment('guarded');
    const monitor = await extension('monitor', { AT_DEPLOYMENT_TICK: 'veto' });
    await associate(monitor.Id!, arn(`/environment/${envId}`));
    await client.send(
      new StartDeploymentCommand({
        ApplicationId: appId,
        EnvironmentId: envId,
        DeploymentStrategyId: 'AppConfig.Linear50PercentEvery30Seconds',
        ConfigurationProfileId: profileId,
        ConfigurationVersion: '1',
      }),
    );
    expect((await appconfig.waitForDeployment(appId, envId, 1)).state).toBe('ROLLED_BACK');
    const d = await client.send(
      new GetDeploymentCommand({ ApplicationId: appId, EnvironmentId: envId, DeploymentNumber: 1 }),
    );
    expect(d.State).toBe('ROLLED_BACK');
    const rollback = d.EventLog?.find((e) => e.EventType === 'ROLLBACK_STARTED');
    expect(rollback).toMatchObject({ TriggeredBy: 'APPCONFIG' });
    expect(rollback?.Description).toContain('Monitor 123 is not OK');
    expect(rollback?.ActionInvocations?.[0]).toMatchObject({ ExtensionIdentifier: monitor.Id });
  });

  it('fails StartDeployment when PRE_START_DEPLOYMENT rejects, and stops a running deployment', async () => {
    const envId = await environment('staging');
    const gate = await extension('gate', { PRE_START_DEPLOYMENT: 'gatekeeper' });
    await associate(gate.Id!, arn(`/environment/${envId}`));
    const strategy = await client.send(
      new CreateDeploymentStrategyCommand({
        Name: 'slow',
        DeploymentDurationInMinutes: 1000,
        GrowthFactor: 10,
        FinalBakeTimeInMinutes: 0,
        ReplicateTo: 'NONE',
      }),
    );
    const start = (version: string) =>
      client.send(
        new StartDeploymentCommand({
          ApplicationId: appId,
          EnvironmentId: envId,
          DeploymentStrategyId: strategy.Id,
          ConfigurationProfileId: profileId,
          ConfigurationVersion: version,
        }),
      );
    const running = await start('1');
    expect(running.State).toBe('DEPLOYING');
    const stopped = await client.send(
      new StopDeploymentCommand({ ApplicationId: appId, EnvironmentId: envId, DeploymentNumber: 1 }),
    );
    expect(stopped.State).toBe('ROLLED_BACK');
    expect(stopped.EventLog?.[1]).toMatchObject({ EventType: 'ROLLBACK_STARTED', TriggeredBy: 'USER' });

    const refused = await fails(
      client.send(
        new StartDeploymentCommand({
          ApplicationId: appId,
          EnvironmentId: envId,
          DeploymentStrategyId: 'AppConfig.AllAtOnce',
          ConfigurationProfileId: profileId,
          ConfigurationVersion: '1',
          Description: 'a forbidden release',
        }),
      ),
    );
    expect(refused).toBeInstanceOf(BadRequestException);
    expect(refused.message).toContain('change freeze');
    const list = await client.send(
      new ListDeploymentsCommand({ ApplicationId: appId, EnvironmentId: envId }),
    );
    expect(list.Items).toHaveLength(1);
  });
});
