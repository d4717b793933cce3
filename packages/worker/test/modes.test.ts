import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin, succeeded, z } from '@pipewright/core';
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

  it('polls with the value of the queryable property and gets only the matching jobs', async () => {
    const byProject = definePlugin({
      name: 'by-project',
      version: '1.0.0',
      description: 'Has a queryable property.',
      config: z.object({ Project: z.string().meta({ queryable: true }) }),
      action: {
        category: 'Build',
        provider: 'Pw-Query',
        version: '1',
        run: (ctx) => succeeded({ summary: `built ${ctx.config.Project}` }),
      },
    });
    await h.register(byProject);
    for (const project of ['web', 'api']) {
      await h.pipeline(`query-${project}`, [
        { name: 'Source', actions: [sourceAction(h.tmp)] },
        { name: 'Build', actions: [customAction(byProject, 'Build', { Project: project })] },
      ]);
    }
    const web = await h.start('query-web');
    const api = await h.start('query-api');
    const worker = createWorker(h.workerOptions({ plugins: [byProject], query: { Project: 'web' } }));
    const running = worker.run();
    expect(await h.waitFor('query-web', web)).toBe('Succeeded');
    await new Promise((r) => setTimeout(r, 200));
    worker.stop();
    const summary = await running;
    expect(summary.jobs.map((j) => j.pipelineName)).toEqual(['query-web']);
    const apiJobs = [...h.stack.state.codepipeline.jobs.values()].filter(
      (j) => j.pipelineExecutionId === api,
    );
    expect(apiJobs.map((j) => j.status)).toEqual(['Queued']);
  });

  it('gives a job without artifacts a folder only when its plugin asks for one, and removes it after', async () => {
    const seen: Record<string, string[]> = {};
    const folderUser = definePlugin({
      name: 'folder-user',
      version: '1.0.0',
      description: 'Writes to its workspace when told to.',
      config: z.object({ Use: z.enum(['yes', 'no']) }),
      action: {
        category: 'Build',
        provider: 'Pw-Folder',
        version: '1',
        async run(ctx) {
          const root = options.workspaceDir!;
          seen[`${ctx.config.Use} before`] = await readdir(root);
          if (ctx.config.Use === 'yes') {
            await writeFile(join(ctx.workspace, 'scratch.txt'), 'x');
            seen['yes folder'] = await readdir(ctx.workspace);
          }
          seen[`${ctx.config.Use} after`] = await readdir(root);
        },
      },
    });
    const options = h.workerOptions({ plugins: [folderUser], concurrency: 1 });
    await h.register(folderUser);
    await h.pipeline('folders', [
      { name: 'Source', actions: [sourceAction(h.tmp)] },
      {
        name: 'Build',
        actions: [
          { ...customAction(folderUser, 'Skip', { Use: 'no' }), runOrder: 1 },
          { ...customAction(folderUser, 'Use', { Use: 'yes' }), runOrder: 2 },
        ],
      },
    ]);
    const id = await h.start('folders');
    const worker = createWorker(options);
    const running = worker.run();
    expect(await h.waitFor('folders', id)).toBe('Succeeded');
    worker.stop();
    await running;
    // The no-op job never made a folder; the other made one on first use, and it is gone afterwards.
    expect(seen['no before']).toEqual(seen['no after']);
    expect(seen['yes before']).toEqual(seen['no after']);
    expect(seen['yes after']).toHaveLength(seen['yes before']!.length + 1);
    expect(seen['yes folder']).toEqual(['scratch.txt']);
    expect(await readdir(options.workspaceDir!)).toEqual(seen['no before']);
  });
});
