// End to end: the zipped Lambda bundle runs in the local Lambda, invoked by the local AppConfig, driven through
// the real @aws-sdk/client-appconfig; backups are read back with the real @aws-sdk/client-s3.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  StartDeploymentCommand,
  UpdateExtensionAssociationCommand,
  ValidateConfigurationCommand,
} from '@aws-sdk/client-appconfig';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type AnyPlugin, createExtensionInput } from '@pipewright/core';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { jsonSchema } from '@pipewright/plugin-json-schema';
import { s3Backup } from '@pipewright/plugin-s3-backup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda } from '../build.mjs';
import { shortName } from '../src/plugins.js';
import { deploymentEvents, deploymentGuard } from './support/test-plugins.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const BUCKET = 'appconfig-backups';
const schema = JSON.stringify({
  type: 'object',
  required: ['port'],
  properties: { port: { type: 'integer', minimum: 1 }, name: { type: 'string' } },
});

let dir: string;
let mainZip: string;
let stack: LocalStack;
let appconfig: AppConfigClient;
let s3: S3Client;
const lambdaLogs: string[] = [];
const ids = { app: '', profile: '', env: '', strategy: '' };
const extensionIds: Record<string, string> = {};
const associationIds: Record<string, string> = {};

/** Registers one function per plugin from a zip, as the CloudFormation template deploys them. */
async function deploy(plugin: AnyPlugin, zipFile: string): Promise<string> {
  const fn = await stack.lambda.registerFunction({
    name: `pipewright-${shortName(plugin)}`,
    handler: 'index.handler',
    zipFile,
    environment: { PIPEWRIGHT_PLUGINS: shortName(plugin), POWERTOOLS_LOG_LEVEL: 'DEBUG' },
    timeoutMs: 15_000,
    memoryMb: 256,
  });
  const created = await appconfig.send(
    new CreateExtensionCommand(createExtensionInput(plugin, { lambdaArn: fn.arn })),
  );
  extensionIds[plugin.name] = created.Id!;
  return created.Id!;
}

async function associate(plugin: AnyPlugin, resourceArn: string, parameters?: Record<string, string>) {
  const created = await appconfig.send(
    new CreateExtensionAssociationCommand({
      ExtensionIdentifier: extensionIds[plugin.name],
      ResourceIdentifier: resourceArn,
      ...(parameters ? { Parameters: parameters } : {}),
    }),
  );
  associationIds[plugin.name] = created.Id!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipewright-lambda-host-e2e-'));
  const [main, withTestPlugins] = await Promise.all([
    buildLambda({ entry: here('../src/main.ts'), outdir: join(dir, 'main') }),
    buildLambda({ entry: here('./support/entry.ts'), outdir: join(dir, 'test') }),
  ]);
  mainZip = main.zipPath;
  stack = await startLocalStack({
    // One deployment-strategy minute lasts 20 ms: AppConfig.AllAtOnce bakes for 200 ms.
    appconfig: { timeScale: 20, tickIntervalMs: 20 },
    lambda: { onLog: (_fn, text) => lambdaLogs.push(text) },
  });
  appconfig = new AppConfigClient({ ...stack.clientConfig('appconfig'), maxAttempts: 1 });
  s3 = new S3Client(stack.clientConfig('s3'));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  // The real plugins from the production zip; the test plugins from a zip built the same way.
  await deploy(jsonSchema, main.zipPath);
  await deploy(s3Backup, main.zipPath);
  await deploy(deploymentGuard, withTestPlugins.zipPath);
  await deploy(deploymentEvents, withTestPlugins.zipPath);

  const app = await appconfig.send(new CreateApplicationCommand({ Name: 'shop' }));
  ids.app = app.Id!;
  const profile = await appconfig.send(
    new CreateConfigurationProfileCommand({
      ApplicationId: ids.app,
      Name: 'settings',
      LocationUri: 'hosted',
    }),
  );
  ids.profile = profile.Id!;
  const env = await appconfig.send(new CreateEnvironmentCommand({ ApplicationId: ids.app, Name: 'prod' }));
  ids.env = env.Id!;
  const strategy = await appconfig.send(
    new CreateDeploymentStrategyCommand({
      Name: 'linear-quick',
      DeploymentDurationInMinutes: 4,
      GrowthType: 'LINEAR',
      GrowthFactor: 50,
      FinalBakeTimeInMinutes: 4,
      ReplicateTo: 'NONE',
    }),
  );
  ids.strategy = strategy.Id!;

  const appArn = `arn:aws:appconfig:${stack.region}:${stack.accountId}:application/${ids.app}`;
  await associate(jsonSchema, appArn, { Schema: schema });
  await associate(s3Backup, appArn, { S3_BUCKET: BUCKET });
  await associate(deploymentGuard, appArn, { Mode: 'continue' });
  await associate(deploymentEvents, appArn);
}, 120_000);

afterAll(async () => {
  appconfig?.destroy();
  s3?.destroy();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function createVersion(content: string) {
  return appconfig.send(
    new CreateHostedConfigurationVersionCommand({
      ApplicationId: ids.app,
      ConfigurationProfileId: ids.profile,
      Content: Buffer.from(content),
      ContentType: 'application/json',
    }),
  );
}

async function backup(key: string) {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: await got.Body!.transformToString(), metadata: got.Metadata };
}

async function deployVersion(version: number) {
  const started = await appconfig.send(
    new StartDeploymentCommand({
      ApplicationId: ids.app,
      EnvironmentId: ids.env,
      DeploymentStrategyId: ids.strategy,
      ConfigurationProfileId: ids.profile,
      ConfigurationVersion: String(version),
      Description: `deploy v${version}`,
    }),
  );
  const settled = await stack.appconfig.waitForDeployment(ids.app, ids.env, started.DeploymentNumber!);
  const deployment = await appconfig.send(
    new GetDeploymentCommand({
      ApplicationId: ids.app,
      EnvironmentId: ids.env,
      DeploymentNumber: started.DeploymentNumber!,
    }),
  );
  return { started, settled, deployment };
}

const invokedActions = (events: { ActionInvocations?: { ActionName?: string }[] }[] | undefined) =>
  (events ?? []).flatMap((e) => (e.ActionInvocations ?? []).map((a) => a.ActionName));

describe('AppConfig extensions from the zipped Lambda host', () => {
  it('rejects an invalid hosted configuration version with the schema errors', async () => {
    const error = await createVersion('{"port":"eighty","name":7}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    const bad = error as BadRequestException;
    expect(bad.message).toContain('pipewright-json-schema');
    expect(bad.message).toContain('the configuration does not match the schema: 2 errors');
    expect(bad.Details?.InvalidConfiguration).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Location: '/port', Reason: 'must be integer' }),
        expect.objectContaining({ Location: '/name', Reason: 'must be string' }),
      ]),
    );
  });

  it('stores a valid version and backs it up to S3', async () => {
    const created = await createVersion('{"port":8080,"name":"web"}');
    const version = created.VersionNumber!;
    const stored = await appconfig.send(
      new GetHostedConfigurationVersionCommand({
        ApplicationId: ids.app,
        ConfigurationProfileId: ids.profile,
        VersionNumber: version,
      }),
    );
    expect(Buffer.from(stored.Content!).toString()).toBe('{"port":8080,"name":"web"}');
    const saved = await backup(`${ids.app}/${ids.profile}/versions/${version}`);
    expect(saved.body).toBe('{"port":8080,"name":"web"}');
    expect(saved.metadata).toMatchObject({
      'action-point': 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
      'application-name': 'shop',
      'configuration-profile-name': 'settings',
    });
  });

  it('deploys: PRE_START_DEPLOYMENT backs up, ticks continue, every ON_* point is invoked', async () => {
    const created = await createVersion('{"port":9090}');
    const { started, settled, deployment } = await deployVersion(created.VersionNumber!);
    expect(settled.state).toBe('COMPLETE');
    expect(deployment.State).toBe('COMPLETE');
    const saved = await backup(
      `${ids.app}/${ids.profile}/deployments/${ids.env}/${started.DeploymentNumber}`,
    );
    expect(saved.body).toBe('{"port":9090}');
    expect(saved.metadata).toMatchObject({
      'action-point': 'PRE_START_DEPLOYMENT',
      'environment-name': 'prod',
    });

    const actions = invokedActions(deployment.EventLog);
    expect(actions).toEqual(
      expect.arrayContaining([
        'PreStartDeploymentActionForJsonSchema',
        'PreStartDeploymentActionForS3Backup',
        'OnDeploymentStartAction',
        'OnDeploymentStepAction',
        'OnDeploymentBakingAction',
        'OnDeploymentCompleteAction',
      ]),
    );
    const failures = (deployment.EventLog ?? []).flatMap((e) =>
      (e.ActionInvocations ?? []).filter((a) => a.ErrorMessage),
    );
    expect(failures).toEqual([]);
    // The ticks ran in the guard's function and answered CONTINUE.
    expect(lambdaLogs.join('\n')).toMatch(/"message":"tick"/);
  });

  it('rolls the deployment back when a tick answers ROLL_BACK', async () => {
    await appconfig.send(
      new UpdateExtensionAssociationCommand({
        ExtensionAssociationId: associationIds[deploymentGuard.name],
        Parameters: { Mode: 'roll-back' },
      }),
    );
    try {
      const created = await createVersion('{"port":9191}');
      const { settled, deployment } = await deployVersion(created.VersionNumber!);
      expect(settled.state).toBe('ROLLED_BACK');
      expect(deployment.State).toBe('ROLLED_BACK');
      const rollback = (deployment.EventLog ?? []).find((e) => e.EventType === 'ROLLBACK_STARTED');
      expect(rollback?.Description).toContain('deployment-guard: alarm fired at');
      expect(invokedActions([rollback!])).toEqual(['AtDeploymentTickAction']);
      expect(invokedActions(deployment.EventLog)).toContain('OnDeploymentRolledBackAction');
    } finally {
      await appconfig.send(
        new UpdateExtensionAssociationCommand({
          ExtensionAssociationId: associationIds[deploymentGuard.name],
          Parameters: { Mode: 'continue' },
        }),
      );
    }
  });

  it('refuses the request when the backup bucket is gone (no silent loss)', async () => {
    await appconfig.send(
      new UpdateExtensionAssociationCommand({
        ExtensionAssociationId: associationIds[s3Backup.name],
        Parameters: { S3_BUCKET: 'no-such-backup-bucket' },
      }),
    );
    try {
      const error = await createVersion('{"port":1234}').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestException);
      expect((error as Error).message).toContain(
        'could not back the configuration up to s3://no-such-backup-bucket/',
      );
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${ids.app}/${ids.profile}/versions/99` })),
      ).rejects.toThrow();
    } finally {
      await appconfig.send(
        new UpdateExtensionAssociationCommand({
          ExtensionAssociationId: associationIds[s3Backup.name],
          Parameters: { S3_BUCKET: BUCKET },
        }),
      );
    }
  });

  it('runs as an AppConfig LAMBDA validator, which fails by throwing', async () => {
    const strict = JSON.stringify({ type: 'object', required: ['port', 'name'] });
    const fn = await stack.lambda.registerFunction({
      name: 'pipewright-json-schema-validator',
      handler: 'index.handler',
      zipFile: mainZip,
      environment: { PIPEWRIGHT_PLUGINS: 'json-schema', PIPEWRIGHT_PARAM_Schema: strict },
      timeoutMs: 15_000,
    });
    const profile = await appconfig.send(
      new CreateConfigurationProfileCommand({
        ApplicationId: ids.app,
        Name: 'validated',
        LocationUri: 'hosted',
        Validators: [{ Type: 'LAMBDA', Content: fn.arn }],
      }),
    );
    const create = (content: string) =>
      appconfig.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: ids.app,
          ConfigurationProfileId: profile.Id!,
          Content: Buffer.from(content),
          ContentType: 'application/json',
        }),
      );
    const validate = (version: number) =>
      appconfig.send(
        new ValidateConfigurationCommand({
          ApplicationId: ids.app,
          ConfigurationProfileId: profile.Id!,
          ConfigurationVersion: String(version),
        }),
      );
    const good = await create('{"port":1,"name":"a"}');
    await expect(validate(good.VersionNumber!)).resolves.toBeDefined();
    const bad = await create('{"port":1}');
    const error = await validate(bad.VersionNumber!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as Error).message).toContain("must have required property 'name'");
  });
});
