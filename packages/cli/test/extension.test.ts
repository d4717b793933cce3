import { fileURLToPath } from 'node:url';
import {
  AppConfigClient,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateEnvironmentCommand,
  CreateHostedConfigurationVersionCommand,
  GetExtensionCommand,
  ListExtensionAssociationsCommand,
} from '@aws-sdk/client-appconfig';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';

let stack: LocalStack;
let appconfig: AppConfigClient;
let env: NodeJS.ProcessEnv;
let aws: string[];
let ac: string[];

beforeAll(async () => {
  stack = await startLocalStack();
  appconfig = new AppConfigClient({ ...stack.clientConfig('appconfig'), maxAttempts: 1 });
  env = {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_REGION: stack.region,
    AWS_PROFILE: '',
  };
  ac = ['--endpoint', stack.endpoints.appconfig!, '--region', stack.region];
  aws = [
    '--endpoint',
    stack.endpoints.appconfig!,
    '--lambda-endpoint',
    stack.endpoints.lambda!,
    '--region',
    stack.region,
  ];
});
afterAll(async () => {
  appconfig?.destroy();
  await stack?.stop();
});

describe('pipewright extension', () => {
  it('deploy prints the CloudFormation template of the Lambda host for a plugin', async () => {
    const run = await cli([
      'extension',
      'deploy',
      's3-backup',
      '--code-bucket',
      'my-code',
      '--code-key',
      'lambda.zip',
    ]);
    expect(run.code).toBe(0);
    const template = JSON.parse(run.stdout);
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toContain('AWS::Lambda::Function');
    expect(types).toContain('AWS::AppConfig::Extension');

    // On AWS, --apply goes through CloudFormation, which needs a bucket for the package.
    const noBucket = await cli(['extension', 'deploy', 's3-backup', '--apply', '--region', 'us-east-1'], {
      env,
    });
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(/^error: --apply through CloudFormation needs --code-bucket.*\nhint: /);
    const shell = await cli(['extension', 'deploy', '@pipewright/plugin-shell']);
    expect(shell.code).toBe(1);
    expect(shell.stderr).toContain('defines no AppConfig extension');
  });

  it('deploy --apply puts the host in the local Lambda and creates the extension; a second run changes nothing', async () => {
    const run = await cli(
      ['extension', 'deploy', '@pipewright/plugin-s3-backup', '--apply', '--json', ...aws],
      { env },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      plugin: '@pipewright/plugin-s3-backup',
      functionName: 'pipewright-s3-backup',
      status: 'created',
    });
    const ext = await appconfig.send(new GetExtensionCommand({ ExtensionIdentifier: result.extension.id }));
    expect(ext.Name).toBe('pipewright-s3-backup');
    const actions = Object.values(ext.Actions ?? {}).flat();
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a.Uri).toBe(result.functionArn);
    expect(Object.keys(ext.Parameters ?? {})).toEqual(['S3_BUCKET', 'S3_PREFIX']);
    const lambda = new LambdaClient({ ...stack.clientConfig('lambda'), maxAttempts: 1 });
    const fn = (await lambda.send(new GetFunctionCommand({ FunctionName: 'pipewright-s3-backup' })))
      .Configuration!;
    lambda.destroy();
    expect(fn.Environment?.Variables).toMatchObject({ PIPEWRIGHT_PLUGINS: 's3-backup' });

    const again = await cli(['extension', 'deploy', 's3-backup', '--apply', '--json', ...aws], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)[0]).toMatchObject({
      status: 'unchanged',
      extension: { id: result.extension.id, versionNumber: 1 },
    });
  });

  it('deploy --apply builds a fresh Lambda host for a plugin it does not bundle, and the extension runs in it', {
    timeout: 90_000,
  }, async () => {
    const plugin = fileURLToPath(new URL('./__fixtures__/greeting-extension.mjs', import.meta.url));
    const run = await cli(['extension', 'deploy', plugin, '--apply', '--json', ...aws], {
      env,
      timeoutMs: 80_000,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      plugin: 'greeting-extension',
      functionName: 'pipewright-greeting-extension',
      status: 'created',
    });

    const app = await appconfig.send(new CreateApplicationCommand({ Name: 'guarded' }));
    const profile = await appconfig.send(
      new CreateConfigurationProfileCommand({
        ApplicationId: app.Id!,
        Name: 'p',
        LocationUri: 'hosted',
        Type: 'AWS.Freeform',
      }),
    );
    const assoc = await cli(['extension', 'associate', 'greeting-guard', '--application', app.Id!, ...ac], {
      env,
    });
    expect(assoc.code).toBe(0);
    const put = (text: string) =>
      appconfig.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: app.Id!,
          ConfigurationProfileId: profile.Id!,
          Content: new TextEncoder().encode(text),
          ContentType: 'application/json',
        }),
      );
    await expect(put('{"nothing":1}')).rejects.toThrow(/the configuration has no greeting/);
    await expect(put('{"greeting":"hi"}')).resolves.toMatchObject({ VersionNumber: 1 });
  });

  it('associate binds the extension to an application and an environment with parameters; bad input is explained', async () => {
    const app = await appconfig.send(new CreateApplicationCommand({ Name: 'web' }));
    const envr = await appconfig.send(new CreateEnvironmentCommand({ ApplicationId: app.Id!, Name: 'prod' }));
    const run = await cli(
      [
        'extension',
        'associate',
        'pipewright-s3-backup',
        '--application',
        app.Id!,
        '--param',
        'S3_BUCKET=my-config-backups',
        ...ac,
      ],
      {
        env,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^created association \\w+ of pipewright-s3-backup with arn:aws:appconfig:us-east-1:${stack.accountId}:application/${app.Id}`,
      ),
    );
    const list = await appconfig.send(
      new ListExtensionAssociationsCommand({
        ResourceIdentifier: `arn:aws:appconfig:us-east-1:${stack.accountId}:application/${app.Id}`,
      }),
    );
    expect(list.Items).toHaveLength(1);

    const onEnv = await cli(
      [
        'extension',
        'associate',
        'pipewright-s3-backup',
        '--environment',
        `${app.Id}/${envr.Id}`,
        '--json',
        ...ac,
      ],
      { env },
    );
    expect(onEnv.code).toBe(0);
    expect(JSON.parse(onEnv.stdout).association.ResourceArn).toBe(
      `arn:aws:appconfig:us-east-1:${stack.accountId}:application/${app.Id}/environment/${envr.Id}`,
    );

    const update = await cli(
      [
        'extension',
        'associate',
        'pipewright-s3-backup',
        '--application',
        app.Id!,
        '--param',
        'S3_BUCKET=other',
        '--json',
        ...ac,
      ],
      { env },
    );
    expect(JSON.parse(update.stdout)).toMatchObject({
      status: 'updated',
      association: { Parameters: { S3_BUCKET: 'other' } },
    });

    const unknownParam = await cli(
      [
        'extension',
        'associate',
        'pipewright-s3-backup',
        '--application',
        app.Id!,
        '--param',
        'NOPE=1',
        ...ac,
      ],
      { env },
    );
    expect(unknownParam.code).toBe(2);
    expect(unknownParam.stderr).toContain('has no parameter NOPE');
    const noExt = await cli(['extension', 'associate', 'nope', '--application', app.Id!, ...ac], { env });
    expect(noExt.code).toBe(1);
    expect(noExt.stderr).toMatch(/^error: extension nope not found\nhint: /);
    const two = await cli(
      ['extension', 'associate', 'pipewright-s3-backup', '--application', 'a', '--profile', 'a/b', ...ac],
      { env },
    );
    expect(two.code).toBe(2);
  });
});
