import { shellBuild, shellPlugin } from '@pipewright/plugin-shell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';

describe('worker modes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await h.register(shellBuild);
    await h.pipeline('modes', [
      { name: 'Source', actions: [sourceAction(h.tmp)] },
      { name: 'Build', actions: [customAction(shellBuild, 'Build', { Command: 'true' })] },
    ]);
  });
  afterAll(() => h?.close());

  const queued = () =>
    [...h.stack.state.codepipeline.jobs.values()].filter((j) => j.status === 'Queued').length;

  it('once: claims one batch (up to the free slots), runs it and returns', async () => {
    for (let i = 0; i < 3; i++) await h.start('modes');
    for (let i = 0; i < 200 && queued() < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const summary = await createWorker(
      h.workerOptions({ plugins: [shellBuild], mode: 'once', concurrency: 2 }),
    ).run();
    expect(summary.succeeded).toBe(2);
    expect(queued()).toBe(1);
  });

  it('drain: runs until the queue is empty', async () => {
    const summary = await createWorker(h.workerOptions({ plugins: [shellBuild], mode: 'drain' })).run();
    expect(summary.succeeded).toBe(1);
    expect(queued()).toBe(0);
  });

  it('serve: stops by itself after idleTimeoutMs without jobs', async () => {
    const started = Date.now();
    const summary = await createWorker(
      h.workerOptions({ plugins: [shellBuild], mode: 'serve', idleTimeoutMs: 300 }),
    ).run();
    expect(summary.jobs).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('drain gives up with the reason when polling keeps failing', async () => {
    // Never registered on this stack: PollForJobs answers ActionTypeNotFoundException.
    const unregistered = shellPlugin({ category: 'Deploy' });
    const worker = createWorker(h.workerOptions({ plugins: [unregistered], mode: 'drain', maxAttempts: 1 }));
    await expect(worker.run()).rejects.toThrow(
      /PollForJobs failed 5 rounds in a row; last error: Deploy\/Pipewright-Shell\/1: .*cannot be found/,
    );
  });
});
