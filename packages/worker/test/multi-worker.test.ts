import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noop } from './fixtures/plugins.mjs';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';
import { spawnWorker } from './processes.js';

const WORKERS = 4;
const PIPELINES = 20;
const ACTIONS = 50; // 20 x 50 = 1,000 jobs

describe('several worker processes on one queue', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await h.register(noop);
  });
  afterAll(() => h?.close());

  it(`${WORKERS} workers, ${PIPELINES * ACTIONS} jobs: every job succeeded exactly once, none lost`, async () => {
    const ids: [string, string][] = [];
    for (let p = 0; p < PIPELINES; p++) {
      await h.pipeline(`fleet-${p}`, [
        { name: 'Source', actions: [sourceAction(h.tmp)] },
        { name: 'Fan', actions: Array.from({ length: ACTIONS }, (_, a) => customAction(noop, `A${a}`, {})) },
      ]);
      ids.push([`fleet-${p}`, await h.start(`fleet-${p}`)]);
    }
    const runLog = join(h.tmp, 'runs.log');
    const started = Date.now();
    const workers = Array.from({ length: WORKERS }, () =>
      spawnWorker(
        h,
        [
          '--action-type',
          'Test/Pw-Proc-Noop/1',
          '--mode',
          'drain',
          '--idle-timeout-ms',
          '1500',
          '--concurrency',
          '16',
          '--poll-interval-ms',
          '20',
        ],
        { PW_RUN_LOG: runLog },
      ),
    );
    for (const [name, id] of ids) expect(await h.waitFor(name, id, 120_000)).toBe('Succeeded');
    const elapsed = Date.now() - started;
    const exits = await Promise.all(workers.map((w) => w.exit));
    for (const [i, e] of exits.entries()) expect(e, workers[i]!.stderr).toEqual({ code: 0, signal: null });
    const summaries = workers.map((w) => JSON.parse(w.stdout.trim().split('\n').pop()!));
    const reported = summaries.flatMap((s) =>
      s.jobs.filter((j: { status: string }) => j.status !== 'skipped'),
    );
    expect(reported).toHaveLength(PIPELINES * ACTIONS);
    expect(new Set(reported.map((j: { jobId: string }) => j.jobId)).size).toBe(PIPELINES * ACTIONS);
    expect(reported.every((j: { status: string }) => j.status === 'succeeded')).toBe(true);
    const runs = (await readFile(runLog, 'utf8')).trim().split('\n');
    expect(runs).toHaveLength(PIPELINES * ACTIONS);
    expect(new Set(runs.map((r) => r.split(' ')[1])).size).toBe(PIPELINES * ACTIONS);
    // The work was shared.
    const perWorker = summaries.map((s) => s.succeeded);
    expect(perWorker.every((n: number) => n > 0)).toBe(true);
    console.log(
      `fleet: ${reported.length} jobs in ${elapsed} ms over ${WORKERS} processes, per worker ${perWorker.join('/')}`,
    );
  }, 180_000);
});
