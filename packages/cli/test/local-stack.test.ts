import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { type LocalStack, localFolderSource, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
let stack: LocalStack;
let cp: CodePipelineClient;
let src: string;
let env: NodeJS.ProcessEnv;
let aws: string[];

beforeAll(async () => {
  stack = await startLocalStack();
  cp = new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 1 });
  src = await mkdtemp(join(tmpdir(), 'pipewright-cli-src-'));
  await writeFile(join(src, 'README.md'), '# app\n');
  env = {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_REGION: stack.region,
    AWS_PROFILE: '',
  };
  aws = ['--endpoint', stack.endpoints.codepipeline, '--region', stack.region];
  // Staging holds a stand-in deploy action: the local stack runs only source actions itself.
  await cp.send(
    new CreateCustomActionTypeCommand({
      category: 'Deploy',
      provider: 'Stub-Deploy',
      version: '1',
      inputArtifactDetails: { minimumCount: 1, maximumCount: 1 },
      outputArtifactDetails: { minimumCount: 0, maximumCount: 0 },
    }),
  );
  await cp.send(
    new CreatePipelineCommand({
      pipeline: {
        name: 'MyFirstPipeline',
        roleArn: `arn:aws:iam::${stack.accountId}:role/pipeline`,
        artifactStore: { type: 'S3', location: stack.artifactBucket },
        stages: [
          {
            name: 'Source',
            actions: [localFolderSource(src, { output: 'MyApp' })],
          },
          {
            name: 'Staging',
            actions: [
              {
                name: 'Deploy',
                actionTypeId: { category: 'Deploy', owner: 'Custom', provider: 'Stub-Deploy', version: '1' },
                inputArtifacts: [{ name: 'MyApp' }],
                runOrder: 1,
              },
            ],
          },
        ],
      },
    }),
  );
});
afterAll(async () => {
  cp?.destroy();
  await stack?.stop();
  await rm(src, { recursive: true, force: true });
});

const registered = () =>
  [...stack.state.codepipeline.actionTypes.values()].filter(
    (t) => !t.deleted && t.actionType.id.provider === 'Pipewright-Shell',
  );

/** A pipeline of the local folder source and one shell action (Build or Test) in `stage`. */
async function shellPipeline(name: string, stage: 'Build' | 'Test', action: string, command: string) {
  await cp.send(
    new CreatePipelineCommand({
      pipeline: {
        name,
        roleArn: `arn:aws:iam::${stack.accountId}:role/pipeline`,
        artifactStore: { type: 'S3', location: stack.artifactBucket },
        stages: [
          { name: 'Source', actions: [localFolderSource(src, { output: 'App' })] },
          {
            name: stage,
            actions: [
              {
                name: action,
                actionTypeId: {
                  category: stage,
                  owner: 'Custom',
                  provider: 'Pipewright-Shell',
                  version: '1',
                },
                configuration: { Command: command },
                inputArtifacts: [{ name: 'App' }],
              },
            ],
          },
        ],
      },
    }),
  );
}

describe('pipewright against the local stack', () => {
  it('register creates the action type, then leaves an identical one alone', async () => {
    const first = await cli(['register', '@pipewright/plugin-shell', ...aws], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // The default export and the named plugin exports, as the worker loads a module: Build and Test.
    expect(first.stdout).toBe(
      'Build/Pipewright-Shell/1 (@pipewright/plugin-shell): registered\nTest/Pipewright-Shell/1 (@pipewright/plugin-shell): registered\n',
    );
    expect(registered().map((t) => t.actionType.id)).toEqual([
      { category: 'Build', owner: 'Custom', provider: 'Pipewright-Shell', version: '1' },
      { category: 'Test', owner: 'Custom', provider: 'Pipewright-Shell', version: '1' },
    ]);
    expect(registered()[0]?.actionType.actionConfigurationProperties?.map((p) => p.name)).toEqual([
      'Command',
      'WorkingDirectory',
      'OutputDirectory',
      'TimeoutSeconds',
      'Shell',
    ]);

    const again = await cli(['register', '@pipewright/plugin-shell', ...aws, '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject([
      { plugin: '@pipewright/plugin-shell', status: 'unchanged' },
      { plugin: '@pipewright/plugin-shell', status: 'unchanged' },
    ]);
    expect(registered()).toHaveLength(2);
  });

  it('register refuses a changed definition under the same version, with a hint to bump it', async () => {
    const run = await cli(['register', join(fixtures, 'shell-changed.mjs'), ...aws], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: action type Build\/Pipewright-Shell\/1 \(shell-changed\) is registered with a different definition: .*WorkingDirectory/,
    );
    expect(run.stderr).toContain('hint: AWS action types cannot change in place: bump action.version');
    expect(run.stderr.trim().split('\n')).toHaveLength(2);
  });

  it('pipeline add-action: dry run shows a diff, then the seed flow inserts a stage before Staging', async () => {
    const args = [
      'pipeline',
      'add-action',
      'MyFirstPipeline',
      '--stage',
      'MyBuildStage',
      '--create-stage',
      '--before',
      'Staging',
      '--plugin',
      '@pipewright/plugin-shell',
      '--name',
      'MyBuildCustomAction',
      '--config',
      'Command=cat README.md',
      '--input',
      'MyApp',
      '--output',
      'MyBuiltApp',
      ...aws,
    ];
    const dry = await cli([...args, '--dry-run'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+       "name": "MyBuildStage"');
    expect(
      (await cp.send(new GetPipelineCommand({ name: 'MyFirstPipeline' }))).pipeline?.stages,
    ).toHaveLength(2);

    const run = await cli(args, { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'added MyBuildCustomAction (Build/Pipewright-Shell/1) to stage MyBuildStage of MyFirstPipeline at runOrder 1',
    );
    const { pipeline } = await cp.send(new GetPipelineCommand({ name: 'MyFirstPipeline' }));
    expect(pipeline?.version).toBe(2);
    expect(pipeline?.stages?.map((s) => s.name)).toEqual(['Source', 'MyBuildStage', 'Staging']);
    expect(pipeline?.stages?.[1]?.actions?.[0]).toMatchObject({
      name: 'MyBuildCustomAction',
      actionTypeId: { category: 'Build', owner: 'Custom', provider: 'Pipewright-Shell', version: '1' },
      configuration: { Command: 'cat README.md' },
      inputArtifacts: [{ name: 'MyApp' }],
      outputArtifacts: [{ name: 'MyBuiltApp' }],
      runOrder: 1,
    });

    // The next execution runs the new action: the worker picks up its job.
    const { pipelineExecutionId } = await cp.send(
      new StartPipelineExecutionCommand({ name: 'MyFirstPipeline' }),
    );
    const worker = await cli(
      [
        'worker',
        '@pipewright/plugin-shell',
        ...aws,
        '--s3-endpoint',
        stack.endpoints.s3,
        '--max-jobs',
        '1',
        '--idle-timeout',
        '5s',
        '--json',
      ],
      { env },
    );
    expect(worker.code).toBe(0);
    expect(JSON.parse(worker.stdout).jobs[0]).toMatchObject({
      pipelineName: 'MyFirstPipeline',
      stageName: 'MyBuildStage',
      actionName: 'MyBuildCustomAction',
      status: 'succeeded',
    });
    const { actionExecutionDetails = [] } = await cp.send(
      new ListActionExecutionsCommand({
        pipelineName: 'MyFirstPipeline',
        filter: { pipelineExecutionId: pipelineExecutionId! },
      }),
    );
    expect(actionExecutionDetails.find((a) => a.actionName === 'MyBuildCustomAction')?.status).toBe(
      'Succeeded',
    );
  });

  it('pipeline add-action: a missing pipeline, stage or artifact is one line and a hint', async () => {
    const base = [
      'pipeline',
      'add-action',
      '--plugin',
      '@pipewright/plugin-shell',
      '--config',
      'Command=ls',
      ...aws,
    ];
    const noPipeline = await cli([...base, 'Nope', '--stage', 'Build'], { env });
    expect(noPipeline.code).toBe(1);
    expect(noPipeline.stderr).toMatch(/^error: pipeline Nope not found\nhint: /);

    const noStage = await cli([...base, 'MyFirstPipeline', '--stage', 'Test'], { env });
    expect(noStage.code).toBe(1);
    expect(noStage.stderr).toContain(
      'error: stage Test not found in pipeline MyFirstPipeline (stages: Source, MyBuildStage, Staging)',
    );
    expect(noStage.stderr).toContain('--create-stage');

    const noArtifact = await cli(
      [...base, 'MyFirstPipeline', '--stage', 'MyBuildStage', '--input', 'Ghost', '--name', 'X'],
      { env },
    );
    expect(noArtifact.code).toBe(1);
    expect(noArtifact.stderr).toContain('error: input artifact Ghost is not produced by any earlier action');
    expect(noArtifact.stderr).toContain(
      'hint: artifacts available to runOrder 2 of stage MyBuildStage: MyApp, MyBuiltApp',
    );

    const unregistered = await cli(
      [
        'pipeline',
        'add-action',
        'MyFirstPipeline',
        '--stage',
        'Staging',
        '--name',
        'T',
        '--plugin',
        join(fixtures, 'unregistered.mjs'),
        ...aws,
      ],
      { env },
    );
    expect(unregistered.code).toBe(1);
    expect(unregistered.stderr).toMatch(
      /^error: action type Deploy\/Never-Registered\/1 is not registered.*\nhint: register it first: pipewright register .*unregistered\.mjs/,
    );

    const badConfig = await cli(
      [
        'pipeline',
        'add-action',
        'MyFirstPipeline',
        '--stage',
        'Staging',
        '--plugin',
        '@pipewright/plugin-shell',
        '--config',
        'Colour=red',
        ...aws,
      ],
      { env },
    );
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/error: invalid configuration: .*Colour/);
  });

  it('worker runs the shell action of a pipeline execution, end to end', async () => {
    await shellPipeline('ShellPipeline', 'Build', 'Shell', 'cat README.md');
    const { pipelineExecutionId } = await cp.send(
      new StartPipelineExecutionCommand({ name: 'ShellPipeline' }),
    );
    const run = await cli(
      [
        'worker',
        '@pipewright/plugin-shell',
        ...aws,
        '--s3-endpoint',
        stack.endpoints.s3,
        '--mode',
        'drain',
        '--idle-timeout',
        '3s',
        '--json',
      ],
      { env },
    );
    expect(run.stderr).toContain('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ succeeded: 1, failed: 0 });
    expect(summary.jobs[0]).toMatchObject({
      pipelineName: 'ShellPipeline',
      actionName: 'Shell',
      status: 'succeeded',
    });
    const execution = await cp.send(
      new GetPipelineExecutionCommand({
        pipelineName: 'ShellPipeline',
        pipelineExecutionId: pipelineExecutionId!,
      }),
    );
    expect(execution.pipelineExecution?.status).toBe('Succeeded');
  });

  it('worker exits 1 when a job fails, with the tool output in its log for people', async () => {
    await shellPipeline('FailingPipeline', 'Test', 'Broken', 'echo about to fail; exit 3');
    await cp.send(new StartPipelineExecutionCommand({ name: 'FailingPipeline' }));
    const run = await cli(
      [
        'worker',
        '@pipewright/plugin-shell',
        ...aws,
        '--s3-endpoint',
        stack.endpoints.s3,
        '--idle-timeout',
        '2s',
        '--max-jobs',
        '1',
      ],
      { env },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('1 job(s): 0 succeeded, 1 failed, 0 in progress, 0 handed off\n');
    expect(run.stderr).toMatch(/ FailingPipeline\/Test\/Broken │ about to fail\n/);
    expect(run.stderr).toMatch(/FailingPipeline\/Test\/Broken {2}job finished {2}status=failed/);
  });

  it('AWS errors: bad credentials, throttling and no endpoint, each one line and a hint', async () => {
    const denied = await cli(['register', '@pipewright/plugin-shell', ...aws], {
      env: { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' },
    });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^error: AWS refused the request \(\w+\): .*\nhint: check the credentials/);

    stack.faults.update('codepipeline', 'ListActionTypes', { throttleRate: 1 });
    try {
      const throttled = await cli(['register', '@pipewright/plugin-shell', ...aws], { env });
      expect(throttled.code).toBe(1);
      expect(throttled.stderr).toMatch(/^error: AWS throttled the request .*\nhint: /m);
    } finally {
      stack.faults.clear();
    }

    // A validation error from the service itself (the namespace pattern is left to CodePipeline).
    const invalid = await cli(
      [
        'pipeline',
        'add-action',
        'MyFirstPipeline',
        '--stage',
        'Staging',
        '--name',
        'V',
        '--plugin',
        '@pipewright/plugin-shell',
        '--config',
        'Command=ls',
        '--namespace',
        'bad ns!',
        ...aws,
      ],
      { env },
    );
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^error: AWS rejected the request \(ValidationException\): .*namespace.*\nhint: /,
    );

    const down = await cli(
      ['register', '@pipewright/plugin-shell', '--endpoint', 'http://127.0.0.1:9', '--region', 'us-east-1'],
      { env },
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot reach the AWS endpoint/);
  });
});
