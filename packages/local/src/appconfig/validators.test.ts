import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AppConfigClient,
  BadRequestException,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateEnvironmentCommand,
  CreateHostedConfigurationVersionCommand,
  StartDeploymentCommand,
  ValidateConfigurationCommand,
} from '@aws-sdk/client-appconfig';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LambdaServer, startLambdaServer } from '../lambda/server.js';
import { type AppConfigServer, startAppConfigServer } from './server.js';

let dir: string;
let lambda: LambdaServer;
let appconfig: AppConfigServer;
let client: AppConfigClient;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pipewright-appconfig-validators-'));
  await writeFile(
    path.join(dir, 'validator.mjs'),
    `import { writeFileSync } from 'node:fs';
    export const handler = async (event) => {
      writeFileSync(process.env.EVENT_FILE, JSON.stringify(event));
      if (Buffer.from(event.content, 'base64').toString().includes('invalid')) throw new Error('limit must be a number');
      return 'ignored';
    };`,
  );
  lambda = await startLambdaServer({
    functions: [
      {
        name: 'validator',
        handler: path.join(dir, 'validator.mjs'),
        environment: { EVENT_FILE: path.join(dir, 'e.json') },
      },
    ],
  });
  appconfig = await startAppConfigServer({ lambda, timeScale: 1 });
  client = new AppConfigClient({
    endpoint: appconfig.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await appconfig?.close();
  await lambda?.close();
  await rm(dir, { recursive: true, force: true });
});

it('runs LAMBDA validators with the camelCase event on ValidateConfiguration and StartDeployment', async () => {
  const app = await client.send(new CreateApplicationCommand({ Name: 'validated' }));
  const env = await client.send(new CreateEnvironmentCommand({ ApplicationId: app.Id, Name: 'e' }));
  const profile = await client.send(
    new CreateConfigurationProfileCommand({
      ApplicationId: app.Id,
      Name: 'p',
      LocationUri: 'hosted',
      Validators: [
        { Type: 'LAMBDA', Content: 'arn:aws:lambda:us-east-1:000000000000:function:validator' },
        { Type: 'JSON_SCHEMA', Content: '{"type":"object"}' },
      ],
    }),
  );
  const ids = { ApplicationId: app.Id!, ConfigurationProfileId: profile.Id! };
  const put = (text: string) =>
    client.send(
      new CreateHostedConfigurationVersionCommand({
        ...ids,
        Content: Buffer.from(text),
        ContentType: 'application/json',
      }),
    );
  await put('{"limit":1}');
  await put('{"limit":"invalid"}');
  await put('not json');

  await client.send(new ValidateConfigurationCommand({ ...ids, ConfigurationVersion: '1' }));
  expect(JSON.parse(await readFile(path.join(dir, 'e.json'), 'utf8'))).toEqual({
    applicationId: app.Id,
    configurationProfileId: profile.Id,
    configurationVersion: '1',
    content: Buffer.from('{"limit":1}').toString('base64'),
    uri: 'hosted',
  });
  const invalid = await client
    .send(new ValidateConfigurationCommand({ ...ids, ConfigurationVersion: '2' }))
    .catch((e: unknown) => e as BadRequestException);
  expect(invalid).toBeInstanceOf(BadRequestException);
  expect((invalid as BadRequestException).Details?.InvalidConfiguration?.[0]?.Reason).toBe(
    'limit must be a number',
  );

  const start = (ConfigurationVersion: string) =>
    client.send(
      new StartDeploymentCommand({
        ...ids,
        EnvironmentId: env.Id,
        DeploymentStrategyId: 'AppConfig.AllAtOnce',
        ConfigurationVersion,
      }),
    );
  expect(await start('3').catch((e: unknown) => e)).toBeInstanceOf(BadRequestException);
  expect(await start('2').catch((e: unknown) => e)).toBeInstanceOf(BadRequestException);
  expect((await start('1')).State).toBe('DEPLOYING');
});
