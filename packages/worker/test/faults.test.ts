import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin, succeeded, z } from '@pipewright/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';

const PIPELINES = 10;
const ACTIONS = 50; // CodePipeline's maximum per stage: 10 x 50 = 500 jobs

const runs = new Map<string, number>();
const noop = definePlugin({
  name: 'noop',
  version: '1.0.0',
  description: 'Reads its input and succeeds.',
  config: z.object({ Tag: z.string().optional() }),
  action: {
    category: 'Test',
    provider: 'Pw-Noop',
    version: '1',
    inputArtifacts: { minimum: 0, maximum: 1 },
    async run(ctx) {
      runs.set(ctx.pipeline.jobId, (runs.get(ctx.pipeline.jobId) ?? 0) + 1);
      const files = ctx.input ? await readdir(ctx.input) : [];
      return succeeded({ summary: `saw ${files.join(',')}` });
    },
  },
});

describe('faults: throttling, 5xx and S3 resets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ faultSeed: 42 });
    await h.register(noop);
  });
  afterAll(() => h?.close());

  it(`runs ${PIPELINES * ACTIONS} jobs, each exactly once, all succeeded`, async () => {
    const project = join(h.tmp, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'input.txt'), 'x'.repeat(4096));
    const ids: [string, string][] = [];
    for (let p = 0; p < PIPELINES; p++) {
      const actions = Array.from({ length: ACTIONS }, (_, a) =>
        customAction(noop, `A${a}`, { Tag: `p${p}a${a}` }, { inputs: ['SourceOutput'] }),
      );
      await h.pipeline(`faults-${p}`, [
        { name: 'Source', actions: [sourceAction(project)] },
        { name: 'Fan', actions },
      ]);
    }
    h.stack.faults.set(
      {
        codepipeline: { '*': { throttleRate: 0.2, errorRate: 0.05 } },
        s3: { GetObject: { resetRate: 0.1 } },
      },
      42,
    );
    for (let p = 0; p < PIPELINES; p++) ids.push([`faults-${p}`, await h.start(`faults-${p}`)]);
    const opts = h.workerOptions({ plugins: [noop], concurrency: 32, pollIntervalMs: 10, maxAttempts: 12 });
    const worker = createWorker(opts);
    const started = Date.now();
    const running = worker.run();
    try {
      for (const [name, id] of ids) {
        const status = await h.waitFor(name, id, 120_000);
        if (status !== 'Succeeded') {
          const failed = (await h.actions(name, id)).filter((a) => a.status !== 'Succeeded');
          throw new Error(`${name}: ${status} ${JSON.stringify(failed.slice(0, 3).map((a) => a.output))}`);
        }
      }
    } finally {
      worker.stop();
    }
    const summary = await running;
    const elapsed = Date.now() - started;
    h.stack.faults.clear();
    const jobs = summary.jobs.filter((j) => j.status !== 'skipped');
    expect(jobs).toHaveLength(PIPELINES * ACTIONS);
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(PIPELINES * ACTIONS);
    expect(jobs.every((j) => j.status === 'succeeded')).toBe(true);
    expect(runs.size).toBe(PIPELINES * ACTIONS);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const injected = h.stack.faults.injected;
    expect(injected.throttle).toBeGreaterThan(100);
    expect(injected.serverError).toBeGreaterThan(20);
    expect(injected.reset).toBeGreaterThan(20);
    console.log(`faults: ${jobs.length} jobs in ${elapsed} ms; injected ${JSON.stringify(injected)}`);
  }, 180_000);
});
