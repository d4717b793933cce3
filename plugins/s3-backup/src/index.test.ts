import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { configurationTable, createExtensionInput } from '@pipewright/core';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { fixtureEvent, invokeExtension } from '@pipewright/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3BackupPlugin } from './index.js';

let stack: LocalStack;
let s3: S3Client;
const saved = { ...process.env };

beforeAll(async () => {
  stack = await startLocalStack();
  s3 = new S3Client(stack.clientConfig('s3'));
  await s3.send(new CreateBucketCommand({ Bucket: 'config-backups' }));
  // What a Lambda function has: credentials, a region and (locally) the S3 endpoint, all from the environment.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_REGION: stack.region,
    AWS_ENDPOINT_URL_S3: stack.endpoints.s3,
  });
});

afterAll(async () => {
  process.env = saved;
  s3?.destroy();
  await stack?.stop();
});

async function object(key: string) {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'config-backups', Key: key }));
  return { body: await got.Body!.transformToString(), metadata: got.Metadata, contentType: got.ContentType };
}

describe('s3-backup', () => {
  it('backs a new hosted version up and passes the content through unchanged', async () => {
    const plugin = s3BackupPlugin();
    const response = await invokeExtension(plugin, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION', {
      params: { S3_BUCKET: 'config-backups' },
      content: '{"feature":true}',
    });
    expect(response).toBeNull();
    await expect(object('app1234/prof567/versions/2')).resolves.toStrictEqual({
      body: '{"feature":true}',
      contentType: 'application/json',
      metadata: expect.objectContaining({
        'action-point': 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
        'application-id': 'app1234',
        'application-name': 'TestApplication',
        'configuration-profile-id': 'prof567',
        'content-version': '2',
      }),
    });
  });

  it('backs a deployment up under its environment and number, with the prefix', async () => {
    const plugin = s3BackupPlugin();
    const event = fixtureEvent('PRE_START_DEPLOYMENT', {
      params: { S3_BUCKET: 'config-backups', S3_PREFIX: 'backups/' },
      content: 'a: 1\n',
      contentType: 'application/x-yaml',
      event: { DeploymentNumber: '7', Application: { Id: 'app1234', Name: 'Café' } },
    });
    await expect(invokeExtension(plugin, event)).resolves.toBeNull();
    const backup = await object('backups/app1234/prof567/deployments/env8901/7');
    expect(backup.body).toBe('a: 1\n');
    expect(backup.metadata).toMatchObject({ 'deployment-number': '7', 'application-name': 'Caf%C3%A9' });
  });

  it('refuses the request when the backup fails', async () => {
    const response = await invokeExtension(s3BackupPlugin(), 'PRE_START_DEPLOYMENT', {
      params: { S3_BUCKET: 'no-such-bucket' },
    });
    expect(response).toMatchObject({
      Error: 'BadRequestError',
      Message: expect.stringContaining(
        '@pipewright/plugin-s3-backup: could not back the configuration up to s3://no-such-bucket/app1234/prof567/deployments/env8901/1: NoSuchBucket',
      ),
      Details: [{ Type: 'BackupFailed', Name: 's3://no-such-bucket/app1234/prof567/deployments/env8901/1' }],
    });
  });

  it('refuses the request when no bucket is configured', async () => {
    await expect(invokeExtension(s3BackupPlugin(), 'PRE_START_DEPLOYMENT')).resolves.toMatchObject({
      Message: expect.stringContaining('no backup bucket: set the S3_BUCKET parameter'),
      Details: [{ Type: 'MissingParameter', Name: 'S3_BUCKET' }],
    });
  });

  it('rejects an invalid bucket name before calling S3', async () => {
    await expect(
      invokeExtension(s3BackupPlugin(), 'PRE_START_DEPLOYMENT', { params: { S3_BUCKET: 'Bad_Bucket' } }),
    ).resolves.toMatchObject({ Details: [{ Type: 'INVALID_CONFIGURATION', Name: 'S3_BUCKET' }] });
  });

  it('generates the seed sample extension with pipewright names', () => {
    const input = createExtensionInput(s3BackupPlugin(), {
      lambdaArn: 'arn:aws:lambda:us-east-1:111122223333:function:MyS3ConfigurationBackUpExtension',
      roleArn: 'arn:aws:iam::111122223333:role/ExtensionsTestRole',
    });
    expect(input).toMatchObject({
      Name: 'pipewright-s3-backup',
      Actions: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: [
          {
            Name: 'PreCreateHostedConfigVersionActionForS3Backup',
            Uri: 'arn:aws:lambda:us-east-1:111122223333:function:MyS3ConfigurationBackUpExtension',
            RoleArn: 'arn:aws:iam::111122223333:role/ExtensionsTestRole',
          },
        ],
        PRE_START_DEPLOYMENT: [{ Name: 'PreStartDeploymentActionForS3Backup' }],
      },
      Parameters: { S3_BUCKET: { Required: false } },
    });
  });

  it('has its configuration table in the README', async () => {
    const normalise = (s: string) => s.replace(/-{3,}/g, '---').replace(/[ \t]*\|[ \t]*/g, '|');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(normalise(readme)).toContain(normalise(configurationTable(s3BackupPlugin())));
  });
});
