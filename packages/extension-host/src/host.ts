import {
  type ActionPoint,
  type AnyPlugin,
  type AppConfigEvent,
  type AppConfigResponse,
  type Content,
  type DeploymentTickEvent,
  EventParseError,
  type ExtensionContext,
  type ExtensionHandler,
  type Logger,
  PluginError,
  type PreEvent,
  parseAppConfigEvent,
  parseConfig,
  type RejectionDetail,
  secretValues,
} from '@pipewright/core';
import { createLogger, Masker } from '@pipewright/runtime';
import { isValidatorEvent, validatorToPreCreate } from './validator.js';

/** Lambda's synchronous response limit is 6 MB; keep a margin for the JSON around `Content`. */
export const MAX_RESPONSE_CONTENT_BYTES = 6 * 1024 * 1024 - 1024;

export interface ExtensionHostOptions {
  /** The plugins, in the order they run at each action point. */
  plugins: readonly AnyPlugin[];
  /** Where the host and the plugins log. Default: JSON lines on stderr. Everything is masked first. */
  logger?: Logger;
  /**
   * Parameters used when the event carries none for a property: AppConfig *validator* events never carry
   * parameters, and deployments may want defaults. Event parameters win.
   */
  defaultParameters?: Readonly<Record<string, string>>;
  /**
   * Time allowed to each plugin in milliseconds; a plugin still running then fails (PRE_*: the request is
   * rejected; tick: roll back; ON_*: logged). `handle`'s `timeoutMs` overrides it per invocation.
   */
  pluginTimeoutMs?: number;
}

export interface HandleOptions {
  signal?: AbortSignal;
  /** Overrides the host's `pluginTimeoutMs` for this invocation (e.g. from the Lambda's remaining time). */
  timeoutMs?: number;
}

export interface ExtensionHost {
  readonly plugins: readonly AnyPlugin[];
  /**
   * Handles one AppConfig extension event and returns the JSON AppConfig expects. Never throws for an
   * extension event: bad events and plugin failures become error responses.
   *
   * Validator events (camelCase, see `isValidatorEvent`) are routed to the PRE_CREATE_HOSTED_CONFIGURATION_VERSION
   * handlers. A validator passes by returning and fails by *throwing* (AppConfig reads Lambda's function
   * error), so for them `handle` resolves `null` on success and rejects with a `ValidationFailedError`.
   */
  handle(raw: unknown, options?: HandleOptions): Promise<AppConfigResponse>;
}

/** A configuration refused by a validator invocation; the message lists every plugin finding. */
export class ValidationFailedError extends Error {
  override readonly name = 'ValidationFailedError';
  constructor(
    message: string,
    readonly details: readonly RejectionDetail[],
  ) {
    super(message);
  }
}

type ErrorResponse = Extract<AppConfigResponse, { Error: string }>;

interface Refusal {
  message: string;
  details: RejectionDetail[];
}

class PluginTimeoutError extends Error {
  override readonly name = 'PluginTimeoutError';
}

function errorResponse(message: string, details: RejectionDetail[]): ErrorResponse {
  return {
    Error: 'BadRequestError',
    Message: message,
    Details: details.map((d) => ({ Type: d.type, Name: d.name, Reason: d.reason })),
  };
}

function isRejection(
  value: unknown,
): value is { kind: 'reject'; message: string; details: RejectionDetail[] } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'reject';
}

/** Details of a thrown error in AppConfig's `{ Type, Name, Reason }` form. */
function detailsOf(plugin: string, error: unknown): RejectionDetail[] {
  if (PluginError.is(error)) {
    const d = error.details;
    if (Array.isArray(d) && d.length > 0) {
      const mapped = d.map((item) => {
        const o = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        return {
          type: String(o.type ?? o.Type ?? error.code),
          name: String(o.name ?? o.Name ?? o.property ?? plugin),
          reason: String(o.reason ?? o.Reason ?? o.message ?? JSON.stringify(item)),
        };
      });
      return mapped;
    }
    return [{ type: error.code, name: plugin, reason: error.message }];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [{ type: error instanceof Error ? error.name : 'Error', name: plugin, reason: message }];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function makeContent(bytes: Uint8Array, previous: Content): Content {
  return {
    bytes,
    contentType: previous.contentType,
    version: previous.version,
    text: () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A logger whose messages and fields go through the invocation's masker before the base logger sees them. */
function maskedLogger(base: Logger, masker: Masker): Logger {
  const wrap =
    (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) =>
      base[level](masker.mask(message), fields === undefined ? undefined : masker.maskValue(fields));
  return {
    debug: wrap('debug'),
    info: wrap('info'),
    warn: wrap('warn'),
    error: wrap('error'),
    child: (fields) => maskedLogger(base.child(masker.maskValue(fields)), masker),
  };
}

/** Runs `fn`, failing with a PluginTimeoutError after `ms` (the plugin's signal is aborted too). */
async function withDeadline<T>(
  ms: number | undefined,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = Promise.resolve().then(() => fn(controller.signal));
    if (ms === undefined || ms <= 0) return await run;
    const timeout = new Promise<never>((_, rejectTimeout) => {
      timer = setTimeout(() => {
        const error = new PluginTimeoutError(`did not finish within ${ms} ms`);
        controller.abort(error);
        rejectTimeout(error);
      }, ms);
    });
    return await Promise.race([run, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

/**
 * The AppConfig extension host: parses an event tolerantly, runs the plugins bound to its action point in the
 * declared order, and maps what they return to AppConfig's response. Pure: no AWS SDK, no Lambda.
 */
export function createExtensionHost(options: ExtensionHostOptions): ExtensionHost {
  const plugins = [...options.plugins];
  const baseLogger = options.logger ?? createLogger();
  const defaults = { ...options.defaultParameters };
  for (const plugin of plugins) {
    if (!plugin.extension) throw new Error(`plugin ${plugin.name} defines no AppConfig extension`);
  }
  const bound = (point: ActionPoint) => plugins.filter((p) => p.extension?.handlers[point] !== undefined);

  async function runPlugin(
    plugin: AnyPlugin,
    event: AppConfigEvent,
    masker: Masker,
    log: Logger,
    handleOptions: HandleOptions,
  ): Promise<unknown> {
    const params = parseConfig(plugin.name, plugin.config, event.parameters, 'extension');
    for (const secret of secretValues(plugin.config, params)) masker.add(secret);
    const handler = plugin.extension!.handlers[event.actionPoint] as ExtensionHandler<unknown, ActionPoint>;
    const timeoutMs = handleOptions.timeoutMs ?? options.pluginTimeoutMs;
    return withDeadline(timeoutMs, handleOptions.signal, (signal) => {
      const ctx: ExtensionContext<unknown> = {
        params,
        logger: log,
        signal,
        mask: (secret) => masker.add(secret),
      };
      return handler(event as never, ctx);
    });
  }

  async function runPre(
    event: PreEvent,
    masker: Masker,
    log: Logger,
    handleOptions: HandleOptions,
  ): Promise<{ refusal: Refusal } | { content: Content; changed: boolean }> {
    const original = event.content;
    let content = original;
    for (const plugin of bound(event.actionPoint)) {
      const pluginLog = log.child({ plugin: plugin.name });
      const started = performance.now();
      let result: unknown;
      try {
        result = await runPlugin(plugin, { ...event, content }, masker, pluginLog, handleOptions);
      } catch (error) {
        pluginLog.warn('plugin failed', { error: messageOf(error) });
        return {
          refusal: { message: `${plugin.name}: ${messageOf(error)}`, details: detailsOf(plugin.name, error) },
        };
      }
      const ms = Math.round(performance.now() - started);
      if (isRejection(result)) {
        pluginLog.info('plugin rejected the configuration', { reason: result.message, durationMs: ms });
        return { refusal: { message: `${plugin.name}: ${result.message}`, details: result.details } };
      }
      if (result && typeof result === 'object' && 'content' in result) {
        const next = (result as { content: Uint8Array | string }).content;
        const bytes = typeof next === 'string' ? new TextEncoder().encode(next) : next;
        content = makeContent(bytes, content);
        pluginLog.debug('plugin replaced the content', { bytes: bytes.byteLength, durationMs: ms });
      } else {
        pluginLog.debug('plugin passed', { durationMs: ms });
      }
    }
    return { content, changed: !sameBytes(content.bytes, original.bytes) };
  }

  async function runTick(
    event: DeploymentTickEvent,
    masker: Masker,
    log: Logger,
    handleOptions: HandleOptions,
  ): Promise<AppConfigResponse> {
    for (const plugin of bound('AT_DEPLOYMENT_TICK')) {
      const pluginLog = log.child({ plugin: plugin.name });
      let result: unknown;
      try {
        result = await runPlugin(plugin, event, masker, pluginLog, handleOptions);
      } catch (error) {
        pluginLog.warn('plugin failed; rolling back', { error: messageOf(error) });
        return { Directive: 'ROLL_BACK', Description: masker.mask(`${plugin.name}: ${messageOf(error)}`) };
      }
      if (isRejection(result)) {
        pluginLog.info('plugin asked to roll back', { reason: result.message });
        return { Directive: 'ROLL_BACK', Description: masker.mask(`${plugin.name}: ${result.message}`) };
      }
      const directive = result as { directive?: string; description?: string } | undefined;
      if (directive?.directive === 'ROLL_BACK') {
        const why = directive.description ? `: ${directive.description}` : ' asked to roll back';
        pluginLog.info('plugin asked to roll back', { reason: directive.description });
        return { Directive: 'ROLL_BACK', Description: masker.mask(`${plugin.name}${why}`) };
      }
    }
    return { Directive: 'CONTINUE' };
  }

  async function runOn(event: AppConfigEvent, masker: Masker, log: Logger, handleOptions: HandleOptions) {
    for (const plugin of bound(event.actionPoint)) {
      const pluginLog = log.child({ plugin: plugin.name });
      try {
        await runPlugin(plugin, event, masker, pluginLog, handleOptions);
      } catch (error) {
        // AppConfig ignores ON_* errors; the log is the only trace, so make it complete.
        pluginLog.error('plugin failed; AppConfig ignores errors at this action point', {
          error: messageOf(error),
        });
      }
    }
  }

  function withDefaults(parameters: Record<string, string>): Record<string, string> {
    return { ...defaults, ...parameters };
  }

  async function handle(raw: unknown, handleOptions: HandleOptions = {}): Promise<AppConfigResponse> {
    const masker = new Masker();
    const log = maskedLogger(baseLogger, masker);
    const started = performance.now();

    if (isValidatorEvent(raw)) {
      let event: PreEvent;
      try {
        event = validatorToPreCreate(raw, { ...defaults });
      } catch (error) {
        log.error('invalid validator event', { error: messageOf(error) });
        throw new ValidationFailedError(`pipewright: invalid validator event: ${messageOf(error)}`, []);
      }
      const vlog = log.child({ validator: true, application: event.application.id });
      const outcome = await runPre(event, masker, vlog, handleOptions);
      const durationMs = Math.round(performance.now() - started);
      if ('refusal' in outcome) {
        vlog.info('configuration refused', { durationMs });
        const findings = outcome.refusal.details.map((d) => `${d.name}: ${d.reason}`);
        throw new ValidationFailedError(
          masker.mask([outcome.refusal.message, ...findings].join('\n')),
          masker.maskValue(outcome.refusal.details),
        );
      }
      vlog.info('configuration valid', { durationMs });
      return null;
    }

    let event: AppConfigEvent;
    try {
      event = parseAppConfigEvent(raw);
    } catch (error) {
      const reason = messageOf(error);
      log.error('invalid AppConfig event', { error: reason });
      const name = error instanceof EventParseError ? 'event' : 'event (unexpected)';
      return errorResponse(`pipewright: invalid AppConfig event: ${reason}`, [
        { type: 'InvalidEvent', name, reason },
      ]);
    }
    event = { ...event, parameters: withDefaults(event.parameters) };
    const eventLog = log.child({
      invocationId: event.invocationId,
      actionPoint: event.actionPoint,
      application: event.application.id,
    });
    const done = (outcome: string, response: AppConfigResponse) => {
      eventLog.info('invocation finished', {
        outcome,
        durationMs: Math.round(performance.now() - started),
      });
      return response;
    };

    switch (event.actionPoint) {
      case 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION':
      case 'PRE_START_DEPLOYMENT': {
        const outcome = await runPre(event, masker, eventLog, handleOptions);
        if ('refusal' in outcome) {
          const { message, details } = outcome.refusal;
          return done('rejected', masker.maskValue(errorResponse(message, details)));
        }
        if (!outcome.changed) return done('passed', null);
        const encoded = Buffer.from(
          outcome.content.bytes.buffer,
          outcome.content.bytes.byteOffset,
          outcome.content.bytes.byteLength,
        ).toString('base64');
        if (encoded.length > MAX_RESPONSE_CONTENT_BYTES) {
          return done(
            'rejected',
            errorResponse(
              `pipewright: the transformed content is ${outcome.content.bytes.byteLength} bytes; as base64 it exceeds Lambda's 6 MB response limit`,
              [{ type: 'PayloadTooLarge', name: 'Content', reason: `${encoded.length} base64 characters` }],
            ),
          );
        }
        return done('transformed', { Content: encoded });
      }
      case 'AT_DEPLOYMENT_TICK': {
        const response = await runTick(event, masker, eventLog, handleOptions);
        return done((response as { Directive: string }).Directive, response);
      }
      default:
        await runOn(event, masker, eventLog, handleOptions);
        return done('notified', null);
    }
  }

  return { plugins, handle };
}
