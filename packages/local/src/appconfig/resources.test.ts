import {
  AppConfigClient,
  BadRequestException,
  ConflictException,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateDeploymentStrategyCommand,
  CreateExtensionAssociationCommand,
  CreateExtensionCommand,
  CreateHostedConfigurationVersionCommand,
  DeleteApplicationCommand,
  DeleteDeploymentStrategyCommand,
  DeleteExtensionAssociationCommand,
  DeleteExtensionCommand,
  GetApplicationCommand,
  GetExtensionAssociationCommand,
  GetExtensionCommand,
  GetHostedConfigurationVersionCommand,
  ListApplicationsCommand,
  ListDeploymentStrategiesCommand,
  ListExtensionAssociationsCommand,
  ListExtensionsCommand,
  ListHostedConfigurationVersionsCommand,
  PayloadTooLargeException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  UpdateApplicationCommand,
  UpdateExtensionAssociationCommand,
  UpdateExtensionCommand,
} from '@aws-sdk/client-appconfig';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfigServer, startAppConfigServer } from './server.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:noop';
const action = (name = 'act') => [{ Name: name, Uri: LAMBDA }];

describe('local AppConfig control plane', () => {
  let server: AppConfigServer;
  let client: AppConfigClient;
  const fails = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected an error'),
      (e: unknown) => e as Error,
    );

  beforeAll(async () => {
    server = await startAppConfigServer({ quotas: { maxExtensions: 3 } });
    client = new AppConfigClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('creates, reads, lists, updates and deletes applications', async () => {
    const app = await client.send(new CreateApplicationCommand({ Name: 'crud', Description: 'd' }));
    expect(app.Id).toMatch(/^[a-z0-9]{7}$/);
    expect((await client.send(new GetApplicationCommand({ ApplicationId: app.Id }))).Name).toBe('crud');
    await client.send(new UpdateApplicationCommand({ ApplicationId: app.Id, Name: 'renamed' }));
    const list = await client.send(new ListApplicationsCommand({}));
    expect(list.Items?.map((a) => a.Name)).toContain('renamed');
    await client.send(new DeleteApplicationCommand({ ApplicationId: app.Id }));
    const err = await fails(client.send(new GetApplicationCommand({ ApplicationId: app.Id })));
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect((err as ResourceNotFoundException).ResourceName).toBe('Application');
  });

  it('stores hosted configuration versions with their headers and enforces the version and size rules', async () => {
    const app = await client.send(new CreateApplicationCommand({ Name: 'hosted' }));
    const profile = await client.send(
      new CreateConfigurationProfileCommand({ ApplicationId: app.Id, Name: 'cfg', LocationUri: 'hosted' }),
    );
    const ids = { ApplicationId: app.Id!, ConfigurationProfileId: profile.Id! };
    const v1 = await client.send(
      new CreateHostedConfigurationVersionCommand({
        ...ids,
        Content: Buffer.from('{"a":1}'),
        ContentType: 'application/json',
        Description: 'first',
        VersionLabel: 'v-one',
      }),
    );
    expect(v1).toMatchObject({ VersionNumber: 1, ContentType: 'application/json', Description: 'first' });
    const got = await client.send(new GetHostedConfigurationVersionCommand({ ...ids, VersionNumber: 1 }));
    expect(Buffer.from(got.Content!).toString()).toBe('{"a":1}');
    expect(got.VersionLabel).toBe('v-one');

    const stale = await fails(
      client.send(
        new CreateHostedConfigurationVersionCommand({
          ...ids,
          Content: Buffer.from('x'),
          ContentType: 'text/plain',
          LatestVersionNumber: 5,
        }),
      ),
    );
    expect(stale).toBeInstanceOf(ConflictException);

    const big = await fails(
      client.send(
        new CreateHostedConfigurationVersionCommand({
          ...ids,
          Content: Buffer.alloc(2 * 1024 * 1024 + 1, 97),
          ContentType: 'text/plain',
        }),
      ),
    );
    expect(big).toBeInstanceOf(PayloadTooLargeException);
    expect(big).toMatchObject({ Measure: 'KILOBYTES', Limit: 2048 });

    await client.send(
      new CreateHostedConfigurationVersionCommand({
        ...ids,
        Content: Buffer.from('two'),
        ContentType: 'text/plain',
        LatestVersionNumber: 1,
      }),
    );
    const versions = await client.send(new ListHostedConfigurationVersionsCommand(ids));
    expect(versions.Items?.map((v) => v.VersionNumber)).toEqual([2, 1]);
    const missing = await fails(
      client.send(new GetHostedConfigurationVersionCommand({ ...ids, VersionNumber: 9 })),
    );
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('has the predefined deployment strategies and manages custom ones', async () => {
    const list = await client.send(new ListDeploymentStrategiesCommand({}));
    expect(list.Items?.map((s) => s.Id)).toEqual(
      expect.arrayContaining([
        'AppConfig.AllAtOnce',
        'AppConfig.Linear50PercentEvery30Seconds',
        'AppConfig.Canary10Percent20Minutes',
        'AppConfig.Linear20PercentEvery6Minutes',
      ]),
    );
    const custom = await client.send(
      new CreateDeploymentStrategyCommand({
        Name: 'fast',
        DeploymentDurationInMinutes: 2,
        GrowthFactor: 25,
        FinalBakeTimeInMinutes: 1,
        ReplicateTo: 'NONE',
      }),
    );
    expect(custom).toMatchObject({ GrowthType: 'LINEAR', GrowthFactor: 25 });
    await client.send(new DeleteDeploymentStrategyCommand({ DeploymentStrategyId: custom.Id }));
    const predefined = await fails(
      client.send(new DeleteDeploymentStrategyCommand({ DeploymentStrategyId: 'AppConfig.AllAtOnce' })),
    );
    expect(predefined).toBeInstanceOf(BadRequestException);
  });

  it('validates extensions as AWS does', async () => {
    const bad = async (input: Record<string, unknown>) => {
      const err = await fails(
        client.send(new CreateExtensionCommand({ Name: 'x', Actions: {}, ...input } as never)),
      );
      expect(err).toBeInstanceOf(BadRequestException);
      return err.message;
    };
    expect(await bad({ Name: 'has/slash', Actions: { PRE_START_DEPLOYMENT: action() } })).toMatch(/Name/);
    expect(await bad({ Actions: {} })).toMatch(/between 1 and 5/);
    const six = Object.fromEntries(
      [
        'PRE_START_DEPLOYMENT',
        'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
        'ON_DEPLOYMENT_START',
        'ON_DEPLOYMENT_STEP',
        'ON_DEPLOYMENT_BAKING',
        'ON_DEPLOYMENT_COMPLETE',
      ].map((p) => [p, action()]),
    );
    expect(await bad({ Actions: six })).toMatch(/between 1 and 5/);
    expect(await bad({ Actions: { PRE_START_DEPLOYMENT: [...action('a'), ...action('b')] } })).toMatch(
      /exactly 1/,
    );
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, { Required: false }]));
    expect(await bad({ Actions: { PRE_START_DEPLOYMENT: action() }, Parameters: eleven })).toMatch(
      /between 1 and 10/,
    );
    expect(
      await bad({
        Actions: { PRE_START_DEPLOYMENT: action() },
        Parameters: { t: { Required: true, Dynamic: true } },
      }),
    ).toMatch(/Dynamic and Required/);
  });

  it('versions, associates, updates and deletes extensions', async () => {
    const app = await client.send(new CreateApplicationCommand({ Name: 'ext' }));
    const appArn = `arn:aws:appconfig:us-east-1:000000000000:application/${app.Id}`;
    const ext = await client.send(
      new CreateExtensionCommand({
        Name: 'backup',
        Actions: { PRE_START_DEPLOYMENT: action() },
        Parameters: { BUCKET: { Required: true, Description: 'where' }, ticket: { Dynamic: true } },
      }),
    );
    expect(ext).toMatchObject({
      VersionNumber: 1,
      Arn: `arn:aws:appconfig:us-east-1:000000000000:extension/${ext.Id}/1`,
    });
    const dup = await fails(
      client.send(
        new CreateExtensionCommand({ Name: 'backup', Actions: { PRE_START_DEPLOYMENT: action() } }),
      ),
    );
    expect(dup).toBeInstanceOf(ConflictException);
    const v2 = await client.send(
      new CreateExtensionCommand({
        Name: 'backup',
        LatestVersionNumber: 1,
        Actions: { PRE_START_DEPLOYMENT: action('v2') },
        Parameters: { BUCKET: { Required: true } },
      }),
    );
    expect(v2).toMatchObject({ Id: ext.Id, VersionNumber: 2 });
    expect(
      (await client.send(new GetExtensionCommand({ ExtensionIdentifier: 'backup', VersionNumber: 1 })))
        .Actions,
    ).toMatchObject({ PRE_START_DEPLOYMENT: [{ Name: 'act' }] });
    const updated = await client.send(
      new UpdateExtensionCommand({ ExtensionIdentifier: ext.Id, Description: 'new' }),
    );
    expect(updated).toMatchObject({ VersionNumber: 2, Description: 'new' });
    expect((await client.send(new ListExtensionsCommand({ Name: 'backup' }))).Items).toHaveLength(1);

    const missingParam = await fails(
      client.send(
        new CreateExtensionAssociationCommand({ ExtensionIdentifier: ext.Id, ResourceIdentifier: appArn }),
      ),
    );
    expect(missingParam).toBeInstanceOf(BadRequestException);
    expect(missingParam.message).toMatch(/BUCKET/);
    const noResource = await fails(
      client.send(
        new CreateExtensionAssociationCommand({
          ExtensionIdentifier: ext.Id,
          ResourceIdentifier: 'arn:aws:appconfig:us-east-1:000000000000:application/nothere',
          Parameters: { BUCKET: 'b' },
        }),
      ),
    );
    expect(noResource).toBeInstanceOf(ResourceNotFoundException);
    const assoc = await client.send(
      new CreateExtensionAssociationCommand({
        ExtensionIdentifier: ext.Arn,
        ResourceIdentifier: appArn,
        Parameters: { BUCKET: 'b' },
      }),
    );
    expect(assoc).toMatchObject({
      ResourceArn: appArn,
      ExtensionVersionNumber: 2,
      Parameters: { BUCKET: 'b' },
    });
    await client.send(
      new UpdateExtensionAssociationCommand({
        ExtensionAssociationId: assoc.Id,
        Parameters: { BUCKET: 'c' },
      }),
    );
    expect(
      (await client.send(new GetExtensionAssociationCommand({ ExtensionAssociationId: assoc.Id })))
        .Parameters,
    ).toEqual({ BUCKET: 'c' });
    const listed = await client.send(new ListExtensionAssociationsCommand({ ResourceIdentifier: appArn }));
    expect(listed.Items?.map((a) => a.Id)).toEqual([assoc.Id]);

    const inUse = await fails(client.send(new DeleteExtensionCommand({ ExtensionIdentifier: ext.Id })));
    expect(inUse).toBeInstanceOf(BadRequestException);
    await client.send(new DeleteExtensionAssociationCommand({ ExtensionAssociationId: assoc.Id }));
    await client.send(new DeleteExtensionCommand({ ExtensionIdentifier: ext.Id }));
    await client.send(new DeleteExtensionCommand({ ExtensionIdentifier: ext.Id }));
    const gone = await fails(client.send(new GetExtensionCommand({ ExtensionIdentifier: ext.Id })));
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers ServiceQuotaExceededException past the extension quota', async () => {
    const create = (Name: string) =>
      client.send(new CreateExtensionCommand({ Name, Actions: { ON_DEPLOYMENT_START: action() } }));
    await create('q1');
    await create('q2');
    await create('q3');
    expect(await fails(create('q4'))).toBeInstanceOf(ServiceQuotaExceededException);
  });
});
