import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AppConfigClient,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateExtensionAssociationCommand,
  CreateExtensionCommand,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
} from '@aws-sdk/client-appconfig';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../stack.js';

let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pipewright-stack-appconfig-'));
  await writeFile(
    path.join(dir, 'ext.mjs'),
    `export const handler = async (event) => ({
      Content: Buffer.from(JSON.stringify({ stamped: true, s3: process.env.AWS_ENDPOINT_URL_S3 })).toString('base64'),
    });`,
  );
  stack = await startLocalStack({ appconfig: { timeScale: 1 } });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('wires AppConfig and Lambda into the local stack', async () => {
  expect(stack.endpoints.appconfig).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(stack.endpoints.lambda).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const fn = await stack.lambda.registerFunction({ name: 'stamp', handler: path.join(dir, 'ext.mjs') });
  expect(fn.arn).toBe(`arn:aws:lambda:${stack.region}:${stack.accountId}:function:stamp`);

  const lambda = new LambdaClient({ ...stack.clientConfig('lambda'), maxAttempts: 1 });
  const invoked = await lambda.send(new InvokeCommand({ FunctionName: 'stamp', Payload: Buffer.from('{}') }));
  expect(JSON.parse(Buffer.from(invoked.Payload!).toString()).Content).toBeTypeOf('string');
  lambda.destroy();

  const appconfig = new AppConfigClient({ ...stack.clientConfig('appconfig'), maxAttempts: 1 });
  const app = await appconfig.send(new CreateApplicationCommand({ Name: 'stacked' }));
  const profile = await appconfig.send(
    new CreateConfigurationProfileCommand({ ApplicationId: app.Id, Name: 'p', LocationUri: 'hosted' }),
  );
  const ext = await appconfig.send(
    new CreateExtensionCommand({
      Name: 'stamp',
      Actions: { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: [{ Name: 'stamp', Uri: fn.arn }] },
    }),
  );
  await appconfig.send(
    new CreateExtensionAssociationCommand({
      ExtensionIdentifier: ext.Id,
      ResourceIdentifier: `arn:aws:appconfig:${stack.region}:${stack.accountId}:application/${app.Id}`,
    }),
  );
  const ids = { ApplicationId: app.Id!, ConfigurationProfileId: profile.Id! };
  await appconfig.send(
    new CreateHostedConfigurationVersionCommand({
      ...ids,
      Content: Buffer.from('{}'),
      ContentType: 'application/json',
    }),
  );
  const stored = await appconfig.send(new GetHostedConfigurationVersionCommand({ ...ids, VersionNumber: 1 }));
  expect(JSON.parse(Buffer.from(stored.Content!).toString())).toEqual({
    stamped: true,
    s3: stack.endpoints.s3,
  });
  appconfig.destroy();
});
