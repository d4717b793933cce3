import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { definePlugin, succeeded, z } from '@pipewright/core';
import { shellBuild } from '@pipewright/plugin-shell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';
import { makeZip } from './zip.js';

const faulty = definePlugin({
  name: 'faulty',
  version: '1.0.0',
  description: 'Misbehaves on request.',
  config: z.object({ Mode: z.enum(['ok', 'throw', 'hang', 'big-summary', 'big-state', 'slow']) }),
  action: {
    category: 'Build',
    provider: 'Pw-Faulty',
    version: '1',
    inputArtifacts: { minimum: 0, maximum: 1 },
    outputArtifacts: { minimum: 0, maximum: 1 },
    async run(ctx) {
      switch (ctx.config.Mode) {
        case 'throw':
          throw new Error('the tool exploded');
        case 'hang':
          // Ignores its signal on purpose.
          await new Promise(() => {});
          return;
        case 'big-summary':
          return succeeded({ summary: `${'x'.repeat(10_000)} the end` });
        case 'big-state':
          return { status: 'in-progress', state: { blob: 'y'.repeat(5000) } };
        case 'slow':
          await new Promise((r) => setTimeout(r, 1500));
          if (ctx.output) await writeFile(join(ctx.output, 'late.txt'), 'written late');
          return succeeded({ summary: 'slow but fine' });
        default:
          return succeeded({ summary: 'fine' });
      }
    },
  },
});

const S_IFLNK = 0o120000;

describe('bad inputs fail their job with a clear message while the worker keeps serving', () => {
  let h: Harness;
  let s3: S3Client;
  beforeAll(async () => {
    h = await harness();
    s3 = new S3Client(h.stack.clientConfig('s3'));
    await h.register(shellBuild);
    await h.register(faulty);
  });
  afterAll(async () => {
    s3?.destroy();
    await h?.close();
  });

  async function fixture(name: string, body: Buffer): Promise<void> {
    await s3.send(
      new PutObjectCommand({
        Bucket: h.stack.artifactBucket,
        Key: `fixtures/${name}`,
        Body: body,
        ServerSideEncryption: 'aws:kms',
      }),
    );
  }

  const s3Source = (name: string) => ({
    name: 'Source',
    actionTypeId: { category: 'Source' as const, owner: 'AWS' as const, provider: 'S3', version: '1' },
    configuration: { S3Bucket: h.stack.artifactBucket, S3ObjectKey: `fixtures/${name}` },
    outputArtifacts: [{ name: 'SourceOutput' }],
  });

  it('fails each bad job and still runs a good one afterwards', async () => {
    const good = makeZip([{ name: 'ok.txt', data: 'ok' }]);
    const cases: Record<string, { zip?: Buffer; action: ReturnType<typeof customAction>; expect: RegExp }> = {
      corrupt: {
        zip: good.subarray(0, good.length - 30),
        action: customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] }),
        expect: /input artifact SourceOutput: .*(zip|corrupt|archive)/i,
      },
      slip: {
        zip: makeZip([{ name: 'a/../../evil.txt', data: 'evil' }]),
        action: customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] }),
        expect: /input artifact SourceOutput: .*evil\.txt/,
      },
      absolute: {
        zip: makeZip([{ name: '/tmp/pipewright-evil.txt', data: 'evil' }]),
        action: customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] }),
        expect: /input artifact SourceOutput: .*pipewright-evil\.txt/,
      },
      symlink: {
        zip: makeZip([
          { name: 'escape', data: '../../../../etc/passwd', mode: S_IFLNK | 0o777 },
          { name: 'ok.txt', data: 'ok' },
        ]),
        action: customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] }),
        expect: /input artifact SourceOutput: .*escape/,
      },
      bomb: {
        zip: makeZip([{ name: 'zeros.bin', data: Buffer.alloc(64 * 1024 * 1024), deflate: true }]),
        action: customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] }),
        expect: /input artifact SourceOutput: .*(bomb|ratio|expands)/i,
      },
      config: {
        action: customAction(shellBuild, 'Build', { Command: 'ls', TimeoutSeconds: 'soon' }),
        expect: /invalid configuration: TimeoutSeconds/,
      },
      throws: {
        action: customAction(faulty, 'Build', { Mode: 'throw' }),
        expect: /faulty failed: the tool exploded/,
      },
      hangs: {
        action: customAction(faulty, 'Build', { Mode: 'hang' }),
        expect: /job timeout/,
      },
      'big-state': {
        action: customAction(faulty, 'Build', { Mode: 'big-state' }),
        expect: /continuation state is \d+ characters.*at most 2048/,
      },
    };
    const project = join(h.tmp, 'empty-project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'a.txt'), 'a');
    const executions: Record<string, string> = {};
    for (const [name, c] of Object.entries(cases)) {
      if (c.zip) await fixture(`${name}.zip`, c.zip);
      await h.pipeline(`bad-${name}`, [
        { name: 'Source', actions: [c.zip ? s3Source(`${name}.zip`) : sourceAction(project)] },
        { name: 'Build', actions: [c.action] },
      ]);
      executions[name] = await h.start(`bad-${name}`);
    }
    // The missing object: the source artifact is deleted before the worker asks for it.
    await h.pipeline('bad-missing', [
      { name: 'Source', actions: [sourceAction(project)] },
      {
        name: 'Build',
        actions: [customAction(shellBuild, 'Build', { Command: 'ls' }, { inputs: ['SourceOutput'] })],
      },
    ]);
    const missing = await h.start('bad-missing');
    const jobQueued = async () => {
      for (let i = 0; i < 200; i++) {
        const execution = h.stack.state.codepipeline.executions.get(missing);
        if (execution?.actions.some((a) => a.stageName === 'Build')) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the Build job never appeared');
    };
    await jobQueued();
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: h.stack.artifactBucket, Prefix: 'bad-missing/' }),
    );
    for (const o of listed.Contents ?? []) {
      await s3.send(new DeleteObjectCommand({ Bucket: h.stack.artifactBucket, Key: o.Key! }));
    }
    executions.missing = missing;

    const opts = h.workerOptions({
      plugins: [shellBuild, faulty],
      concurrency: 8,
      // Long enough for a loaded CI machine to fetch and reject every bad artifact; the hanging plugin
      // still meets it.
      jobTimeoutMs: 6000,
      abortGraceMs: 200,
    });
    const worker = createWorker(opts);
    const running = worker.run();
    try {
      for (const [name, id] of Object.entries(executions)) {
        const pipeline = `bad-${name}`;
        expect(await h.waitFor(pipeline, id), name).toBe('Failed');
        const build = (await h.actions(pipeline, id)).find((a) => a.stageName === 'Build');
        const text = JSON.stringify(build?.output ?? {});
        const expected =
          name === 'missing'
            ? /input artifact SourceOutput: .*(not exist|NoSuchKey|not found)/i
            : cases[name]!.expect;
        expect(text, name).toMatch(expected);
      }
      // An oversized summary is cut, not fatal.
      await h.pipeline('big-summary', [
        { name: 'Source', actions: [sourceAction(project)] },
        { name: 'Build', actions: [customAction(faulty, 'Build', { Mode: 'big-summary' })] },
      ]);
      const big = await h.start('big-summary');
      expect(await h.waitFor('big-summary', big)).toBe('Succeeded');
      const summary = (await h.actions('big-summary', big)).find((a) => a.stageName === 'Build')?.output
        ?.executionResult?.externalExecutionSummary;
      expect(summary?.length).toBeLessThanOrEqual(2048);
      expect(summary).toMatch(/^…\[truncated\].*the end$/);
      // The same worker still serves good jobs.
      await h.pipeline('good-after', [
        { name: 'Source', actions: [sourceAction(project)] },
        {
          name: 'Build',
          actions: [
            customAction(shellBuild, 'Build', { Command: 'cat a.txt' }, { inputs: ['SourceOutput'] }),
          ],
        },
      ]);
      const after = await h.start('good-after');
      expect(await h.waitFor('good-after', after)).toBe('Succeeded');
    } finally {
      worker.stop();
      await running;
    }
  }, 60_000);
});

describe('job credentials', () => {
  it('refreshes them through GetJobDetails before they expire, and fails with PermissionError when they are wrong', async () => {
    const h = await harness({ credentialsTtlMs: 1000 });
    try {
      await h.register(faulty);
      const project = join(h.tmp, 'p');
      await mkdir(project, { recursive: true });
      await writeFile(join(project, 'a.txt'), 'a');
      await h.pipeline('slow', [
        { name: 'Source', actions: [sourceAction(project)] },
        {
          name: 'Build',
          actions: [
            customAction(faulty, 'Build', { Mode: 'slow' }, { inputs: ['SourceOutput'], outputs: ['Out'] }),
          ],
        },
      ]);
      // Refreshing: the upload after 1.5 s uses credentials fetched again.
      const id = await h.start('slow');
      const worker = createWorker(h.workerOptions({ plugins: [faulty], credentialsRefreshMs: 300 }));
      const running = worker.run();
      expect(await h.waitFor('slow', id)).toBe('Succeeded');
      worker.stop();
      await running;
      // Not refreshing: the credentials have expired by the time the output is uploaded.
      const id2 = await h.start('slow');
      const stale = createWorker(h.workerOptions({ plugins: [faulty] }));
      const running2 = stale.run();
      expect(await h.waitFor('slow', id2)).toBe('Failed');
      stale.stop();
      await running2;
      const text = JSON.stringify(
        (await h.actions('slow', id2)).find((a) => a.stageName === 'Build')?.output,
      );
      expect(text).toMatch(/output artifact Out could not be uploaded: .*(expired|denied|credentials)/i);
    } finally {
      await h.close();
    }
  }, 30_000);
});
