import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionResult, definePlugin, inProgress, PluginError, z } from '@pipewright/core';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from './logger.js';
import { Masker } from './masker.js';
import { runAction } from './run-action.js';

const pipeline = {
  jobId: 'j',
  accountId: '111122223333',
  pipelineName: 'p',
  stageName: 's',
  actionName: 'a',
  actionExecutionId: undefined,
  pipelineExecutionId: undefined,
  pipelineArn: undefined,
};

function plugin(run: (ctx: { config: { Token?: string; Mode: string } }) => unknown) {
  return definePlugin({
    name: 'test-plugin',
    version: '1.0.0',
    description: 'd',
    config: z.object({ Mode: z.enum(['ok', 'fail']), Token: z.string().optional().meta({ secret: true }) }),
    action: { category: 'Build', provider: 'T', version: '1', run: run as never },
  });
}

async function go(
  p: ReturnType<typeof plugin>,
  configuration: Record<string, string>,
): Promise<ActionResult> {
  const { logger } = createMemoryLogger();
  return runAction({
    plugin: p,
    configuration,
    inputs: {},
    outputs: {},
    workspace: mkdtempSync(join(tmpdir(), 'pw-run-')),
    continuation: undefined,
    pipeline,
    signal: new AbortController().signal,
    logger,
    masker: new Masker(),
  });
}

describe('runAction', () => {
  it('fails with every configuration problem before running the plugin', async () => {
    let ran = false;
    const result = await go(
      plugin(() => (ran = true)),
      { Mode: 'maybe', Nope: 'x' },
    );
    expect(ran).toBe(false);
    expect(result).toMatchObject({ status: 'failed', failureType: 'ConfigurationError' });
    expect((result as { message: string }).message).toMatch(
      /^test-plugin: invalid configuration: .*Nope: unknown property.*Mode: Invalid option/,
    );
  });

  it('turns nothing into success and a throw into a failure naming the plugin', async () => {
    expect(
      await go(
        plugin(() => undefined),
        { Mode: 'ok' },
      ),
    ).toEqual({ status: 'succeeded' });
    const thrown = await go(
      plugin(() => {
        throw new PluginError('TOOL_FAILED', 'lint found 3 errors', {
          failureType: 'JobFailed',
          details: { count: 3 },
        });
      }),
      { Mode: 'ok' },
    );
    expect(thrown).toEqual({
      status: 'failed',
      failureType: 'JobFailed',
      message: 'test-plugin: lint found 3 errors',
      details: { count: 3 },
    });
    const plain = await go(
      plugin(() => Promise.reject(new TypeError('x is undefined'))),
      { Mode: 'ok' },
    );
    expect(plain).toMatchObject({ status: 'failed', message: 'test-plugin failed: x is undefined' });
  });

  it('masks secret configuration values in results', async () => {
    const result = await go(
      plugin((ctx) => ({ status: 'succeeded', summary: `used ${ctx.config.Token}` })),
      {
        Mode: 'ok',
        Token: 'sup3r-s3cret',
      },
    );
    expect(result).toEqual({ status: 'succeeded', summary: 'used ***' });
  });

  it('cuts an oversized summary and fails an oversized continuation or bad output variables', async () => {
    const long = await go(
      plugin(() => ({ status: 'succeeded', summary: 'x'.repeat(5000) })),
      { Mode: 'ok' },
    );
    expect((long as { summary: string }).summary).toHaveLength(2048);
    expect((long as { summary: string }).summary.startsWith('…[truncated]')).toBe(true);
    const big = await go(
      plugin(() => ({ status: 'in-progress', state: 'y'.repeat(3000) })),
      { Mode: 'ok' },
    );
    expect(big).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/3002 characters of JSON/),
    });
    const viaHelper = await go(
      plugin(() => inProgress('z'.repeat(3000))),
      { Mode: 'ok' },
    );
    expect(viaHelper).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/CodePipeline carries at most 2048/),
    });
    const vars = await go(
      plugin(() => ({ status: 'succeeded', outputVariables: { 'bad name': 'v' } })),
      { Mode: 'ok' },
    );
    expect(vars).toMatchObject({ status: 'failed', message: expect.stringMatching(/bad name/) });
  });
});
