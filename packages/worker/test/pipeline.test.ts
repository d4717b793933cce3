import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shellBuild, shellTest } from '@pipewright/plugin-shell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';

describe('Source -> Build (shell) -> Test (shell) on the local stack', () => {
  let h: Harness;
  let source: string;
  beforeAll(async () => {
    h = await harness();
    await h.register(shellBuild);
    await h.register(shellTest);
    source = join(h.tmp, 'project');
    await mkdir(join(source, 'src'), { recursive: true });
    await writeFile(join(source, 'src', 'data.txt'), 'hello from the source\n');
    await writeFile(
      join(source, 'build.sh'),
      '#!/bin/sh\nmkdir -p dist\ncp -a src/data.txt dist/\nln -s data.txt dist/latest\ncp -a build.sh dist/\necho built\n',
    );
    await chmod(join(source, 'build.sh'), 0o755);
    await symlink('src/data.txt', join(source, 'data-link'));
  });
  afterAll(() => h?.close());

  it('runs every stage, artifacts flowing with permissions and symlinks intact', async () => {
    await h.pipeline('app', [
      { name: 'Source', actions: [sourceAction(source)] },
      {
        name: 'Build',
        actions: [
          customAction(
            shellBuild,
            'Build',
            { Command: 'test -L data-link && ./build.sh', OutputDirectory: 'dist' },
            { inputs: ['SourceOutput'], outputs: ['BuildOutput'] },
          ),
        ],
      },
      {
        name: 'Test',
        actions: [
          customAction(
            shellTest,
            'Check',
            {
              Command:
                'test -L latest && [ "$(readlink latest)" = data.txt ] && test -x build.sh && cat latest && echo all good',
            },
            { inputs: ['BuildOutput'] },
          ),
        ],
      },
    ]);
    const secrets: string[] = [];
    const ended: string[] = [];
    const opts = h.workerOptions({
      plugins: [shellBuild, shellTest],
      hooks: {
        onSecret: (s) => secrets.push(s),
        onJobStart: (j) => ended.push(`${j.stageName} started`),
        onJobEnd: (r) => ended.push(`${r.stageName} ${r.status}`),
      },
      externalExecutionId: (job) => `run-for-${job.actionName}`,
      // More than the default, so that artifacts zipped by several threads flow through the pipeline too.
      zipThreads: 2,
    });
    const worker = createWorker(opts);
    const running = worker.run();
    const id = await h.start('app');
    const status = await h.waitFor('app', id);
    worker.stop('test done');
    const summary = await running;
    const actions = await h.actions('app', id);
    expect(status, JSON.stringify(actions, null, 1)).toBe('Succeeded');
    expect(summary.succeeded).toBe(2);
    expect(summary.failed).toBe(0);
    expect(ended).toEqual(['Build started', 'Build succeeded', 'Test started', 'Test succeeded']);
    // Every artifact credential was handed to the onSecret hook (the GitHub Action masks them).
    expect(secrets.filter((s) => s.startsWith('ASIA'))).toHaveLength(2);
    const check = actions.find((a) => a.actionName === 'Check');
    expect(check?.output?.executionResult?.externalExecutionId).toBe('run-for-Check');
    expect(check?.output?.outputVariables).toMatchObject({ ExitCode: '0' });
    expect(check?.output?.executionResult?.externalExecutionSummary).toContain('all good');
    expect(check?.output?.executionResult?.externalExecutionSummary).toContain('hello from the source');
    // Every workspace is removed after its job.
    expect(await readdir(opts.workspaceDir!)).toEqual([]);
    // Logs carry the job's coordinates and never the artifact credentials.
    const started = opts.logs.find((r) => r.msg === 'job started');
    expect(started).toMatchObject({ pipeline: 'app', stage: 'Build', action: 'Build' });
    expect(JSON.stringify(opts.logs)).not.toMatch(/ASIA[0-9A-F]{16}/);
  });

  it('fails the execution with the message of a failing command', async () => {
    await h.pipeline('broken', [
      { name: 'Source', actions: [sourceAction(source)] },
      {
        name: 'Build',
        actions: [
          customAction(
            shellBuild,
            'Build',
            { Command: 'echo compiling; echo "error: boom" >&2; exit 7' },
            {
              inputs: ['SourceOutput'],
            },
          ),
        ],
      },
    ]);
    const worker = createWorker(h.workerOptions({ plugins: [shellBuild, shellTest] }));
    const running = worker.run();
    const id = await h.start('broken');
    const status = await h.waitFor('broken', id);
    worker.stop();
    const summary = await running;
    expect(status).toBe('Failed');
    expect(summary.failed).toBe(1);
    const build = (await h.actions('broken', id)).find((a) => a.actionName === 'Build');
    expect(build?.status).toBe('Failed');
    const message = JSON.stringify(build?.output);
    expect(message).toContain('exited with code 7');
    expect(message).toContain('error: boom');
  });

  it("keeps the worker's and the job's AWS credentials out of the tool's environment", async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'worker-secret-from-the-environment';
    try {
      await h.pipeline('creds', [
        { name: 'Source', actions: [sourceAction(source)] },
        {
          name: 'Build',
          actions: [
            customAction(
              shellBuild,
              'Build',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
              { Command: 'echo "key=[${AWS_SECRET_ACCESS_KEY:-none}]"; env | grep -c ASIA || true' },
              {
                inputs: ['SourceOutput'],
              },
            ),
          ],
        },
      ]);
      const worker = createWorker(h.workerOptions({ plugins: [shellBuild] }));
      const running = worker.run();
      const id = await h.start('creds');
      expect(await h.waitFor('creds', id)).toBe('Succeeded');
      worker.stop();
      await running;
      const build = (await h.actions('creds', id)).find((a) => a.actionName === 'Build');
      const summary = build?.output?.executionResult?.externalExecutionSummary ?? '';
      expect(summary).toContain('key=[none]');
      expect(summary).toMatch(/^0$/m);
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
