import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pipewright-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pipewright (no AWS needed)', () => {
  it('prints help and its version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['register', 'pipeline', 'policy', 'init']) expect(help.stdout).toContain(c);
    const version = await cli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('loads no AWS SDK client until a command calls AWS', () => {
    // The SDK clients are most of the CLI's start-up time (about 0.25 s of 0.45 s): `--help`, `policy` and
    // `init` never need them, and the commands that do load them when they run.
    const main = new URL('../dist/main.js', import.meta.url).href;
    const script = `import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      await import(${JSON.stringify(main)});
      const before = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
      await import('@aws-sdk/client-codepipeline');
      const after = Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
      console.log(JSON.stringify({ before, after }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dirname(here),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const loaded = JSON.parse(run.stdout) as { before: number; after: number };
    expect(loaded.before).toBe(0);
    // The check can see an SDK client once one is loaded.
    expect(loaded.after).toBeGreaterThan(0);
  });

  it('policy: the worker policy of the seed, for the shell plugin', async () => {
    // The module's default export and its named plugin exports, as the worker loads them: Build and Test.
    const run = await cli(['policy', '@pipewright/plugin-shell', '--region', 'us-east-2']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'codepipeline:PollForJobs',
            'codepipeline:AcknowledgeJob',
            'codepipeline:GetJobDetails',
            'codepipeline:PutJobSuccessResult',
            'codepipeline:PutJobFailureResult',
          ],
          Resource: [
            'arn:aws:codepipeline:us-east-2::actionType:custom/Build/Pipewright-Shell/1/',
            'arn:aws:codepipeline:us-east-2::actionType:custom/Test/Pipewright-Shell/1/',
          ],
        },
      ],
    });
    const bad = await cli(['policy', '@pipewright/plugin-shell', '--account', '12']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a 12-digit AWS account id');
  });

  it('register --dry-run prints the CreateCustomActionType request, one per export', async () => {
    const run = await cli(['register', '--dry-run', '@pipewright/plugin-shell#shellTest']);
    expect(run.code).toBe(0);
    const request = JSON.parse(run.stdout);
    expect(request).toMatchObject({ category: 'Test', provider: 'Pipewright-Shell', version: '1' });
    expect(request.configurationProperties[0]).toMatchObject({ name: 'Command', required: true, key: true });
  });

  it("reproduces the guides' samples: the custom action JSON and the sample extension", async () => {
    const seed = join(here, '__fixtures__', 'seed-samples.mjs');
    const action = await cli(['register', '--dry-run', `${seed}#myBuild`]);
    expect(action.code).toBe(0);
    expect(JSON.parse(action.stdout)).toEqual({
      category: 'Build',
      provider: 'My-Build-Provider-Name',
      version: '1',
      settings: {
        entityUrlTemplate: 'https://my-build-instance/job/{Config:ProjectName}/',
        executionUrlTemplate:
          'https://my-build-instance/job/{Config:ProjectName}/lastSuccessfulBuild/{ExternalExecutionId}/',
      },
      configurationProperties: [
        {
          name: 'ProjectName',
          required: true,
          key: true,
          secret: false,
          queryable: false,
          description:
            'The name of the build project must be provided when this action is added to the pipeline.',
          type: 'String',
        },
      ],
      inputArtifactDetails: { maximumCount: 1, minimumCount: 1 },
      outputArtifactDetails: { maximumCount: 1, minimumCount: 0 },
      tags: [{ key: 'Project', value: 'ProjectA' }],
    });

    const extension = await cli([
      'extension',
      'deploy',
      `${seed}#mySample`,
      '--lambda-arn',
      'arn:aws:lambda:aws-region:111122223333:function:MyS3ConfigurationBackUpExtension',
      '--extension-role-arn',
      'arn:aws:iam::111122223333:role/ExtensionsTestRole',
    ]);
    expect(extension.code).toBe(0);
    expect(JSON.parse(extension.stdout)).toEqual({
      Name: 'MySampleExtension',
      Description: 'A sample extension that backs up configurations to an S3 bucket.',
      Actions: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: [
          {
            Name: 'PreCreateHostedConfigVersionActionForS3Backup',
            Uri: 'arn:aws:lambda:aws-region:111122223333:function:MyS3ConfigurationBackUpExtension',
            RoleArn: 'arn:aws:iam::111122223333:role/ExtensionsTestRole',
          },
        ],
      },
      Parameters: { S3_BUCKET: { Required: false } },
    });
  });

  it('bad plugins: unknown, not a plugin, breaking a limit; usage errors exit 2; no stack trace', async () => {
    const unknown = await cli(['register', '--dry-run', 'pipewright-plugin-does-not-exist']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^error: plugin pipewright-plugin-does-not-exist is not installed.*\nhint: /,
    );
    expect(unknown.stderr).not.toContain('    at ');

    const file = join(here, '__fixtures__');
    const none = await cli(['register', '--dry-run', join(file, 'not-a-plugin.mjs')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('exports no plugin definition');

    const broken = await cli(['register', '--dry-run', join(file, 'too-long-provider.mjs')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/error: plugin too-long breaks an AWS limit: .*provider/);
    expect(broken.stderr).not.toContain('    at ');
    const debug = await cli(['register', '--dry-run', '--debug', join(file, 'too-long-provider.mjs')]);
    expect(debug.stderr).toContain('    at ');

    const missing = await cli(['register', '--dry-run', join(file, 'nope.mjs')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');

    const usage = await cli(['register']);
    expect(usage.code).toBe(2);
    const unknownOption = await cli(['policy', '@pipewright/plugin-shell', '--nope']);
    expect(unknownOption.code).toBe(2);
    const threads = await cli(['worker', '@pipewright/plugin-shell', '--zip-threads', '8']);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toContain('--zip-threads 8 is not a whole number from 1 to 4');
  });

  it('init plugin: a scaffold whose own tests and typecheck pass as generated', {
    timeout: 120_000,
  }, async () => {
    const run = await cli(['init', 'plugin', 'hello-tool', '--category', 'Test'], { cwd: tmp });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('created pipewright-plugin-hello-tool (Test/Hello-Tool/1)');
    const dir = join(tmp, 'hello-tool');
    const readme = await readFile(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('| `Command` | String | yes |');
    // Stand in for `npm install`: the workspace's own packages and tools.
    await mkdir(join(dir, 'node_modules', '@pipewright'), { recursive: true });
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
    const link = (from: string, to: string) => symlink(from, join(dir, 'node_modules', to), 'dir');
    await link(dirname(require.resolve('@pipewright/core/package.json')), '@pipewright/core');
    await link(join(here, '..', '..', 'testkit'), '@pipewright/testkit');
    await link(dirname(require.resolve('vitest/package.json')), 'vitest');
    await link(dirname(require.resolve('typescript/package.json')), 'typescript');
    await link(dirname(require.resolve('@types/node/package.json')), '@types/node');
    const test = spawnSync(process.execPath, [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(test.stdout + test.stderr).toContain('4 passed');
    expect(test.status).toBe(0);
    const tsc = spawnSync(
      process.execPath,
      [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', dir],
      {
        encoding: 'utf8',
      },
    );
    expect(tsc.stdout).toBe('');
    expect(tsc.status).toBe(0);

    // Built, the scaffold is the current project of `pipewright dev`, which registers and serves it.
    const build = spawnSync(
      process.execPath,
      [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.build.json')],
      {
        encoding: 'utf8',
      },
    );
    expect(build.status).toBe(0);
    const dev = await cli(['dev', '--exit', '--random-ports'], { cwd: dir, timeoutMs: 100_000 });
    expect(dev.code).toBe(0);
    expect(dev.stdout).toContain('✓ found plugin pipewright-plugin-hello-tool in the current project');
    expect(dev.stdout).toContain('✓ registered Test/Hello-Tool/1 (pipewright-plugin-hello-tool)');

    const again = await cli(['init', 'plugin', 'hello-tool'], { cwd: tmp });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
  });
});
