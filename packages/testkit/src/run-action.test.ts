import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin, inProgress, succeeded, z } from '@pipewright/core';
import { describe, expect, it } from 'vitest';
import { runPluginAction } from './run-action.js';

const copier = definePlugin({
  name: 'copier',
  version: '1.0.0',
  description: 'Copies a file with a tool and reports in two steps.',
  config: z.object({ File: z.string(), ApiKey: z.string().optional().meta({ secret: true }) }),
  action: {
    category: 'Build',
    provider: 'Copier',
    version: '1',
    inputArtifacts: { minimum: 1, maximum: 1 },
    outputArtifacts: { minimum: 1, maximum: 1 },
    async run(ctx) {
      if (ctx.continuation === undefined) {
        ctx.checkpoint({ step: 1 });
        return inProgress({ step: 1 }, { summary: 'started' });
      }
      const r = await ctx.exec('cp', [ctx.config.File, join(ctx.output!, 'copy.txt')]);
      ctx.logger.info(`key is ${ctx.config.ApiKey}`);
      return r.exitCode === 0
        ? succeeded({ summary: 'copied' })
        : { status: 'failed', failureType: 'JobFailed', message: r.tail.join('\n') };
    },
  },
});

describe('runPluginAction', () => {
  it('runs each step of an action on fixture artifacts', async () => {
    const first = await runPluginAction(copier, {
      config: { File: 'a.txt' },
      inputs: { Src: { 'a.txt': 'hello' } },
      outputs: ['Out'],
    });
    expect(first.result).toEqual({ status: 'in-progress', state: { step: 1 }, summary: 'started' });
    expect(first.checkpoints).toEqual([{ step: 1 }]);
    await first.cleanup();

    const second = await runPluginAction(copier, {
      config: { File: 'a.txt', ApiKey: 'key-123456' },
      inputs: { Src: { 'a.txt': 'hello' } },
      outputs: ['Out'],
      continuation: { step: 1 },
    });
    expect(second.result).toEqual({ status: 'succeeded', summary: 'copied' });
    expect(await readFile(join(second.outputs.Out!, 'copy.txt'), 'utf8')).toBe('hello');
    expect(second.logs.map((l) => l.msg)).toContain('key is ***');
    await second.cleanup();
  });

  it('fails on a tool error with its output', async () => {
    const run = await runPluginAction(copier, {
      config: { File: 'missing.txt' },
      inputs: { Src: {} },
      outputs: ['Out'],
      continuation: 1,
    });
    expect(run.result).toMatchObject({ status: 'failed', message: expect.stringMatching(/missing\.txt/) });
    await run.cleanup();
  });
});
