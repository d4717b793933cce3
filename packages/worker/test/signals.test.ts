import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { resumable, slow, stray } from './fixtures/plugins.mjs';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';
import { spawnWorker, waitUntil } from './processes.js';

const jobsOf = (h: Harness, executionId: string) =>
  [...h.stack.state.codepipeline.jobs.values()].filter((j) => j.pipelineExecutionId === executionId);

describe('stopping a worker process', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ jobTimeouts: { inProgressMs: 2_000, redispatchMs: 500 } });
    await h.register(slow);
    await h.register(resumable);
    await h.pipeline('slow', [
      { name: 'Source', actions: [sourceAction(h.tmp)] },
      { name: 'Build', actions: [customAction(slow, 'Sleep', { Seconds: '30' })] },
    ]);
    await h.pipeline('resumable', [
      { name: 'Source', actions: [sourceAction(h.tmp)] },
      { name: 'Deploy', actions: [customAction(resumable, 'Roll', { Seconds: '30' })] },
    ]);
  });
  afterEach(() => h?.close());

  it('SIGTERM: running jobs get the grace period, then a resumable job is handed off and the other fails', async () => {
    const runLog = join(h.tmp, 'runs.log');
    const slowId = await h.start('slow');
    const rollId = await h.start('resumable');
    const a = spawnWorker(h, ['--mode', 'serve', '--stop-grace-ms', '300'], { PW_RUN_LOG: runLog });
    // Both jobs running in A: the slow one, and the resumable one in its second (continuation) job.
    await waitUntil('both jobs running', () => {
      const jobs = [...jobsOf(h, slowId), ...jobsOf(h, rollId)];
      return jobs.filter((j) => j.status === 'InProgress').length === 2 && jobsOf(h, rollId).length === 2;
    });
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = Date.now();
    a.child.kill('SIGTERM');
    const exit = await a.exit;
    expect(exit, a.stderr).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    // Nothing left hanging: the slow action failed saying why, the resumable one has a new job to resume.
    expect(await h.waitFor('slow', slowId)).toBe('Failed');
    const sleep = (await h.actions('slow', slowId)).find((x) => x.actionName === 'Sleep');
    expect(JSON.stringify(sleep?.output)).toMatch(/worker stopped \(SIGTERM\).*cannot resume/);
    const rollJobs = jobsOf(h, rollId);
    expect(rollJobs).toHaveLength(3);
    expect(rollJobs[2]).toMatchObject({ status: 'Queued', continuationToken: '{"step":2}' });
    // Another worker resumes from the checkpoint.
    const b = createWorker(h.workerOptions({ plugins: [resumable], mode: 'drain', idleTimeoutMs: 200 }));
    const summary = await b.run();
    expect(summary.succeeded).toBe(1);
    expect(await h.waitFor('resumable', rollId)).toBe('Succeeded');
    const roll = (await h.actions('resumable', rollId)).find((x) => x.actionName === 'Roll');
    expect(roll?.output?.executionResult?.externalExecutionSummary).toBe('resumed at step 2');
    const summaryA = JSON.parse(a.stdout.trim());
    expect(summaryA).toMatchObject({ handedOff: 1, failed: 1, inProgress: 1 });
  }, 40_000);

  it('a second SIGTERM stops at once, without waiting for the grace period', async () => {
    const slowId = await h.start('slow');
    const a = spawnWorker(h, ['--mode', 'serve', '--stop-grace-ms', '60000']);
    await waitUntil('the job running', () => jobsOf(h, slowId).some((j) => j.status === 'InProgress'));
    const stoppedAt = Date.now();
    a.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGTERM');
    expect(await a.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(await h.waitFor('slow', slowId)).toBe('Failed');
  }, 20_000);

  it('SIGKILL: the job times out on the stack; a reported continuation is resumed by another worker', async () => {
    const runLog = join(h.tmp, 'runs.log');
    const slowId = await h.start('slow');
    // A claims two jobs and no more: the slow one, and the first job of the resumable action, which reports
    // a continuation; the kill lands while the slow job runs and the continuation waits in the queue.
    const a = spawnWorker(h, ['--mode', 'serve', '--poll-interval-ms', '50', '--max-jobs', '2'], {
      PW_RUN_LOG: runLog,
    });
    await waitUntil('the slow job running', () => jobsOf(h, slowId).some((j) => j.status === 'InProgress'));
    const rollId = await h.start('resumable');
    await waitUntil('the continuation reported', () => jobsOf(h, rollId).length === 2, 10_000);
    await waitUntil('the first job reported', () => jobsOf(h, rollId)[0]?.status === 'Succeeded');
    a.child.kill('SIGKILL');
    expect((await a.exit).signal).toBe('SIGKILL');
    // The job A held times out on the stack and fails its action.
    expect(await h.waitFor('slow', slowId, 10_000)).toBe('Failed');
    const sleep = (await h.actions('slow', slowId)).find((x) => x.actionName === 'Sleep');
    expect(JSON.stringify(sleep?.output)).toMatch(/timed out/i);
    // The continuation A reported is picked up by B (after the stack offers it again if A had polled it).
    const b = createWorker(
      h.workerOptions({ plugins: [resumable], mode: 'serve', idleTimeoutMs: 3_000, stopGraceMs: 0 }),
    );
    const running = b.run();
    await waitUntil(
      'B resuming',
      () => jobsOf(h, rollId).some((j) => j.status === 'InProgress' && j.continuationToken === '{"step":1}'),
      10_000,
    );
    b.stop('test');
    expect((await running).handedOff).toBe(1);
    const c = createWorker(h.workerOptions({ plugins: [resumable], mode: 'drain', idleTimeoutMs: 200 }));
    expect((await c.run()).succeeded).toBe(1);
    expect(await h.waitFor('resumable', rollId)).toBe('Succeeded');
    const runs = await readFile(runLog, 'utf8');
    expect(runs).toContain(`start ${jobsOf(h, rollId)[0]!.id}`);
    expect(jobsOf(h, rollId)[1]!.continuationToken).toBe('{"step":1}');
  }, 40_000);

  it('an exception thrown outside a job stops the process gracefully, its jobs answered', async () => {
    await h.register(stray);
    await h.pipeline('stray', [
      { name: 'Source', actions: [sourceAction(h.tmp)] },
      { name: 'Invoke', actions: [customAction(stray, 'Stray', {})] },
    ]);
    const id = await h.start('stray');
    const a = spawnWorker(h, ['--mode', 'serve', '--action-type', 'Invoke/Pw-Proc-Stray/1']);
    expect(await a.exit).toEqual({ code: 0, signal: null });
    expect(a.stderr).toContain('thrown from a stray timer');
    expect(await h.waitFor('stray', id)).toBe('Succeeded');
  });
});
