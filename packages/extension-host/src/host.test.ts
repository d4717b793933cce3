import {
  type AnyPlugin,
  definePlugin,
  type ExtensionHandlers,
  PluginError,
  reject,
  z,
} from '@pipewright/core';
import { createMemoryLogger } from '@pipewright/runtime';
import { describe, expect, it } from 'vitest';
import {
  b64,
  eventBridge,
  onBaking,
  onComplete,
  onRolledBack,
  onStart,
  onStep,
  preCreate,
  preStart,
  snsEnvelope,
  snsSqsMessage,
  tickDocumented,
  tickEmulator,
  validator,
} from './__fixtures__/events.js';
import { createExtensionHost, ValidationFailedError } from './host.js';

const empty = z.object({});

function plugin(name: string, handlers: ExtensionHandlers<Record<string, never>>): AnyPlugin {
  return definePlugin({
    name,
    version: '1.0.0',
    description: `test plugin ${name}`,
    config: empty,
    extension: { name, handlers },
  });
}

function host(plugins: AnyPlugin[]) {
  const { logger, records } = createMemoryLogger();
  return { host: createExtensionHost({ plugins, logger }), records };
}

const decode = (response: unknown) =>
  Buffer.from((response as { Content: string }).Content, 'base64').toString('utf8');

describe('every sample payload of the AppConfig reference', () => {
  const seen: string[] = [];
  // An extension maps at most 5 action points: one plugin for the synchronous ones, one for the events.
  const sync = plugin('sync', {
    PRE_CREATE_HOSTED_CONFIGURATION_VERSION: (e) => void seen.push(`${e.actionPoint}:${e.content.text()}`),
    PRE_START_DEPLOYMENT: (e) => void seen.push(`${e.actionPoint}:${e.deploymentNumber}`),
    AT_DEPLOYMENT_TICK: (e) => void seen.push(`${e.actionPoint}:${e.percentageComplete}`),
  });
  const events = plugin('events', {
    ON_DEPLOYMENT_START: (e) => void seen.push(e.actionPoint),
    ON_DEPLOYMENT_STEP: (e) => void seen.push(e.actionPoint),
    ON_DEPLOYMENT_BAKING: (e) => void seen.push(e.actionPoint),
    ON_DEPLOYMENT_COMPLETE: (e) => void seen.push(`${e.actionPoint}:${e.deploymentNumber}`),
    ON_DEPLOYMENT_ROLLED_BACK: (e) => void seen.push(e.actionPoint),
  });
  const cases: [string, unknown, unknown, string][] = [
    ['PRE_CREATE', preCreate, null, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION:Hello world!'],
    ['PRE_START', preStart, null, 'PRE_START_DEPLOYMENT:2'],
    ['tick (documented Type)', tickDocumented, { Directive: 'CONTINUE' }, 'AT_DEPLOYMENT_TICK:0'],
    ['tick (AtDeploymentTick)', tickEmulator, { Directive: 'CONTINUE' }, 'AT_DEPLOYMENT_TICK:0'],
    ['ON_DEPLOYMENT_START', onStart, null, 'ON_DEPLOYMENT_START'],
    ['ON_DEPLOYMENT_STEP', onStep, null, 'ON_DEPLOYMENT_STEP'],
    ['ON_DEPLOYMENT_BAKING', onBaking, null, 'ON_DEPLOYMENT_BAKING'],
    ['ON_DEPLOYMENT_COMPLETE', onComplete, null, 'ON_DEPLOYMENT_COMPLETE:2'],
    ['ON_DEPLOYMENT_ROLLED_BACK', onRolledBack, null, 'ON_DEPLOYMENT_ROLLED_BACK'],
    ['EventBridge envelope', eventBridge, null, 'ON_DEPLOYMENT_COMPLETE:1'],
    ['SNS/SQS message', snsSqsMessage, null, 'ON_DEPLOYMENT_COMPLETE:3'],
    ['SNS envelope', snsEnvelope, null, 'ON_DEPLOYMENT_COMPLETE:3'],
    ['validator', validator, null, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION:{"port":8080}'],
  ];
  for (const [name, event, response, trace] of cases) {
    it(`handles ${name}`, async () => {
      seen.length = 0;
      const { host: h } = host([sync, events]);
      await expect(h.handle(event)).resolves.toStrictEqual(response);
      expect(seen).toStrictEqual([trace]);
    });
  }
});

describe('PRE_* dispatch', () => {
  it('runs the plugins in declared order and flows content from one to the next', async () => {
    const order: string[] = [];
    const upper = plugin('upper', {
      PRE_START_DEPLOYMENT: (e) => {
        order.push('upper');
        return { content: e.content.text().toUpperCase() };
      },
    });
    const exclaim = plugin('exclaim', {
      PRE_START_DEPLOYMENT: (e) => {
        order.push(`exclaim saw ${e.content.text()}`);
        return { content: new TextEncoder().encode(`${e.content.text()}!!`) };
      },
    });
    const { host: h } = host([upper, exclaim]);
    const response = await h.handle(preStart);
    expect(order).toStrictEqual(['upper', 'exclaim saw HELLO WORLD!']);
    expect(decode(response)).toBe('HELLO WORLD!!!');
  });

  it('returns null when the content is unchanged, even if a plugin hands back the same bytes', async () => {
    const same = plugin('same', { PRE_START_DEPLOYMENT: (e) => ({ content: e.content.text() }) });
    const { host: h } = host([same]);
    await expect(h.handle(preStart)).resolves.toBeNull();
  });

  it('stops at the first rejection and maps it to AppConfig error response', async () => {
    let laterRan = false;
    const refuse = plugin('refuse', {
      PRE_CREATE_HOSTED_CONFIGURATION_VERSION: () =>
        reject('content is not allowed', [{ type: 'Malformed', name: 'S3 pointer', reason: 'nope' }]),
    });
    const later = plugin('later', {
      PRE_CREATE_HOSTED_CONFIGURATION_VERSION: () => {
        laterRan = true;
      },
    });
    const { host: h } = host([refuse, later]);
    await expect(h.handle(preCreate)).resolves.toStrictEqual({
      Error: 'BadRequestError',
      Message: 'refuse: content is not allowed',
      Details: [{ Type: 'Malformed', Name: 'S3 pointer', Reason: 'nope' }],
    });
    expect(laterRan).toBe(false);
  });

  it('turns a thrown PluginError or Error into a rejection', async () => {
    const throwsPluginError = plugin('pe', {
      PRE_START_DEPLOYMENT: () => {
        throw new PluginError('LOCKED', 'deployments are frozen');
      },
    });
    const throwsError = plugin('boom', {
      PRE_START_DEPLOYMENT: async () => {
        throw new TypeError('x is undefined');
      },
    });
    await expect(host([throwsPluginError]).host.handle(preStart)).resolves.toStrictEqual({
      Error: 'BadRequestError',
      Message: 'pe: deployments are frozen',
      Details: [{ Type: 'LOCKED', Name: 'pe', Reason: 'deployments are frozen' }],
    });
    await expect(host([throwsError]).host.handle(preStart)).resolves.toStrictEqual({
      Error: 'BadRequestError',
      Message: 'boom: x is undefined',
      Details: [{ Type: 'TypeError', Name: 'boom', Reason: 'x is undefined' }],
    });
  });

  it('validates parameters with the plugin schema and names a missing required one', async () => {
    const needsBucket = definePlugin({
      name: 'needs-bucket',
      version: '1.0.0',
      description: 'x',
      config: z.object({ BUCKET: z.string(), Retries: z.number().int().default(2) }),
      extension: {
        name: 'needs-bucket',
        handlers: {
          PRE_START_DEPLOYMENT: (_e, ctx) => ({ content: `${ctx.params.BUCKET}/${ctx.params.Retries}` }),
        },
      },
    });
    const h = createExtensionHost({ plugins: [needsBucket], logger: createMemoryLogger().logger });
    await expect(h.handle(preStart)).resolves.toStrictEqual({
      Error: 'BadRequestError',
      Message: 'needs-bucket: invalid configuration: BUCKET: is required',
      Details: [{ Type: 'INVALID_CONFIGURATION', Name: 'BUCKET', Reason: 'is required' }],
    });
    const ok = await h.handle({ ...preStart, Parameters: { BUCKET: 'b', Retries: '5' } });
    expect(decode(ok)).toBe('b/5');
  });

  it('masks secret parameters and values the plugin masks in logs and responses', async () => {
    const secretive = definePlugin({
      name: 'secretive',
      version: '1.0.0',
      description: 'x',
      config: z.object({ Token: z.string().meta({ secret: true }) }),
      extension: {
        name: 'secretive',
        handlers: {
          PRE_START_DEPLOYMENT: (_e, ctx) => {
            ctx.mask('derived-secret-value');
            ctx.logger.info(`using ${ctx.params.Token} and derived-secret-value`, {
              token: ctx.params.Token,
            });
            return reject(`token ${ctx.params.Token} was refused`);
          },
        },
      },
    });
    const { logger, records } = createMemoryLogger();
    const h = createExtensionHost({ plugins: [secretive], logger });
    const response = await h.handle({ ...preStart, Parameters: { Token: 's3cr3t-token' } });
    expect(JSON.stringify(records)).not.toContain('s3cr3t-token');
    expect(JSON.stringify(records)).not.toContain('derived-secret-value');
    expect(JSON.stringify(records)).toContain('using *** and ***');
    expect(response).toMatchObject({ Message: 'secretive: token *** was refused' });
  });

  it('fails a plugin that runs past its deadline and aborts its signal', async () => {
    let aborted = false;
    const slow = plugin('slow', {
      PRE_START_DEPLOYMENT: (_e, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve(undefined);
          });
        }),
    });
    const h = createExtensionHost({
      plugins: [slow],
      logger: createMemoryLogger().logger,
      pluginTimeoutMs: 50,
    });
    await expect(h.handle(preStart)).resolves.toMatchObject({
      Error: 'BadRequestError',
      Message: 'slow: did not finish within 50 ms',
    });
    expect(aborted).toBe(true);
  });

  it('runs only the plugins bound to the action point', async () => {
    const onlyCreate = plugin('only-create', {
      PRE_CREATE_HOSTED_CONFIGURATION_VERSION: () => reject('no'),
    });
    await expect(host([onlyCreate]).host.handle(preStart)).resolves.toBeNull();
  });
});

describe('AT_DEPLOYMENT_TICK', () => {
  it('continues when every plugin continues', async () => {
    const ok = plugin('ok', { AT_DEPLOYMENT_TICK: () => ({ directive: 'CONTINUE' }) });
    const quiet = plugin('quiet', { AT_DEPLOYMENT_TICK: () => undefined });
    await expect(host([ok, quiet]).host.handle(tickDocumented)).resolves.toStrictEqual({
      Directive: 'CONTINUE',
    });
  });

  it('lets the first ROLL_BACK win', async () => {
    const ran: string[] = [];
    const first = plugin('monitor-a', {
      AT_DEPLOYMENT_TICK: () => {
        ran.push('a');
        return { directive: 'ROLL_BACK', description: 'alarm 123 is firing' };
      },
    });
    const second = plugin('monitor-b', {
      AT_DEPLOYMENT_TICK: () => {
        ran.push('b');
        return { directive: 'ROLL_BACK', description: 'b' };
      },
    });
    await expect(host([first, second]).host.handle(tickEmulator)).resolves.toStrictEqual({
      Directive: 'ROLL_BACK',
      Description: 'monitor-a: alarm 123 is firing',
    });
    expect(ran).toStrictEqual(['a']);
  });

  it('rolls back on a rejection or an error', async () => {
    const rej = plugin('rej', { AT_DEPLOYMENT_TICK: () => reject('error budget spent') });
    const err = plugin('err', {
      AT_DEPLOYMENT_TICK: () => {
        throw new Error('monitor API unreachable');
      },
    });
    await expect(host([rej]).host.handle(tickDocumented)).resolves.toStrictEqual({
      Directive: 'ROLL_BACK',
      Description: 'rej: error budget spent',
    });
    await expect(host([err]).host.handle(tickDocumented)).resolves.toStrictEqual({
      Directive: 'ROLL_BACK',
      Description: 'err: monitor API unreachable',
    });
  });
});

describe('ON_* points', () => {
  it('runs every plugin, logs errors and never fails', async () => {
    const ran: string[] = [];
    const failing = plugin('failing', {
      ON_DEPLOYMENT_COMPLETE: () => {
        ran.push('failing');
        throw new Error('webhook down');
      },
    });
    const after = plugin('after', { ON_DEPLOYMENT_COMPLETE: () => void ran.push('after') });
    const { host: h, records } = host([failing, after]);
    await expect(h.handle(onComplete)).resolves.toBeNull();
    expect(ran).toStrictEqual(['failing', 'after']);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'error', plugin: 'failing', error: 'webhook down' }),
    );
  });
});

describe('bad events', () => {
  const h = host([plugin('p', { PRE_START_DEPLOYMENT: () => undefined })]).host;
  const cases: [string, unknown, string][] = [
    ['not an object', 'hello', 'the event must be a JSON object'],
    ['an unknown Type', { ...onStart, Type: 'OnSomethingElse' }, 'unknown Type "OnSomethingElse"'],
    ['no Type', { ...onStart, Type: undefined }, 'Type is missing'],
    ['invalid base64', { ...preStart, Content: 'not base64!' }, 'Content is not valid base64'],
    ['no Content', { ...preStart, Content: undefined }, 'Content must be a base64 string'],
    ['no Application', { ...preStart, Application: undefined }, 'Application is missing'],
    ['a bad DeploymentNumber', { ...preStart, DeploymentNumber: 'two' }, 'DeploymentNumber must be a number'],
  ];
  for (const [name, event, reason] of cases) {
    it(`answers ${name} with a clear error response`, async () => {
      const response = (await h.handle(event)) as { Error: string; Message: string; Details: unknown[] };
      expect(response.Error).toBe('BadRequestError');
      expect(response.Message).toContain('pipewright: invalid AppConfig event: ');
      expect(response.Message).toContain(reason);
      expect(response.Details).toStrictEqual([
        { Type: 'InvalidEvent', Name: 'event', Reason: expect.any(String) },
      ]);
    });
  }
});

describe('validator events', () => {
  const strict = plugin('strict', {
    PRE_CREATE_HOSTED_CONFIGURATION_VERSION: (e) =>
      e.content.text().includes('8080')
        ? reject('port 8080 is reserved', [{ type: 'Rule', name: '/port', reason: 'reserved' }])
        : undefined,
  });

  it('passes by resolving null', async () => {
    await expect(
      host([strict]).host.handle({ ...validator, content: b64('{"port":1}') }),
    ).resolves.toBeNull();
  });

  it('fails by throwing, with every finding in the message', async () => {
    const error = await host([strict])
      .host.handle(validator)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as Error).message).toBe('strict: port 8080 is reserved\n/port: reserved');
  });

  it('hands validators the host default parameters', async () => {
    const withParam = definePlugin({
      name: 'with-param',
      version: '1.0.0',
      description: 'x',
      config: z.object({ Max: z.number() }),
      extension: {
        name: 'with-param',
        handlers: {
          PRE_CREATE_HOSTED_CONFIGURATION_VERSION: (e, ctx) =>
            e.content.bytes.byteLength > ctx.params.Max ? reject('too big') : undefined,
        },
      },
    });
    const h = createExtensionHost({
      plugins: [withParam],
      logger: createMemoryLogger().logger,
      defaultParameters: { Max: '3' },
    });
    await expect(h.handle(validator)).rejects.toThrow('with-param: too big');
  });

  it('throws on a malformed validator event', async () => {
    await expect(host([strict]).host.handle({ ...validator, content: '%%%' })).rejects.toThrow(
      'invalid validator event: Content is not valid base64',
    );
  });
});

describe('large content', () => {
  it('passes a 2 MB configuration through without re-encoding it', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a').toString('base64');
    const pass = plugin('pass', { PRE_START_DEPLOYMENT: () => undefined });
    await expect(host([pass]).host.handle({ ...preStart, Content: big })).resolves.toBeNull();
  });

  it('rejects transformed content too large for a Lambda response', async () => {
    const grow = plugin('grow', {
      PRE_START_DEPLOYMENT: () => ({ content: new Uint8Array(5 * 1024 * 1024) }),
    });
    await expect(host([grow]).host.handle(preStart)).resolves.toMatchObject({
      Error: 'BadRequestError',
      Details: [{ Type: 'PayloadTooLarge', Name: 'Content' }],
    });
  });
});
