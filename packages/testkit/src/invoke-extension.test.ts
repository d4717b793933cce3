import { definePlugin, reject, z } from '@pipewright/core';
import type { LogRecord } from '@pipewright/runtime';
import { describe, expect, it } from 'vitest';
import { fixtureEvent, invokeExtension } from './invoke-extension.js';

const upper = definePlugin({
  name: 'upper',
  version: '1.0.0',
  description: 'Upper-cases configuration; refuses the word "forbidden".',
  config: z.object({ Token: z.string().meta({ secret: true }).optional() }),
  extension: {
    name: 'upper',
    handlers: {
      PRE_START_DEPLOYMENT: (event, ctx) => {
        ctx.logger.info(`token is ${ctx.params.Token}`);
        const text = event.content.text();
        if (text.includes('forbidden'))
          return reject('forbidden word', [{ type: 'Word', name: '/', reason: 'forbidden' }]);
        return { content: text.toUpperCase() };
      },
      AT_DEPLOYMENT_TICK: (event) =>
        (event.percentageComplete ?? 0) >= 50
          ? { directive: 'ROLL_BACK', description: 'half way' }
          : undefined,
    },
  },
});

describe('invokeExtension', () => {
  it('returns the transformed content as AppConfig would receive it', async () => {
    const response = await invokeExtension(upper, 'PRE_START_DEPLOYMENT', { content: 'hello' });
    expect(response).toStrictEqual({ Content: Buffer.from('HELLO').toString('base64') });
  });

  it('returns the rejection', async () => {
    await expect(
      invokeExtension(upper, 'PRE_START_DEPLOYMENT', { content: 'forbidden' }),
    ).resolves.toStrictEqual({
      Error: 'BadRequestError',
      Message: 'upper: forbidden word',
      Details: [{ Type: 'Word', Name: '/', Reason: 'forbidden' }],
    });
  });

  it('takes raw events and parameters, and collects masked logs', async () => {
    const logs: LogRecord[] = [];
    const event = fixtureEvent('AT_DEPLOYMENT_TICK', { event: { PercentageComplete: '10.0' } });
    await expect(
      invokeExtension(upper, event, { params: { Token: 'abcd-secret' }, logs }),
    ).resolves.toStrictEqual({
      Directive: 'CONTINUE',
    });
    await expect(invokeExtension(upper, 'AT_DEPLOYMENT_TICK')).resolves.toStrictEqual({
      Directive: 'ROLL_BACK',
      Description: 'upper: half way',
    });
    await invokeExtension(upper, 'PRE_START_DEPLOYMENT', { params: { Token: 'abcd-secret' }, logs });
    expect(logs.map((r) => r.msg)).toContain('token is ***');
    expect(JSON.stringify(logs)).not.toContain('abcd-secret');
  });
});
