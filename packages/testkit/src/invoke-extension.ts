import {
  type ActionPoint,
  type AnyPlugin,
  type AppConfigResponse,
  EVENT_TYPES,
  type Logger,
} from '@pipewright/core';
import { createExtensionHost, isValidatorEvent } from '@pipewright/extension-host';
import { createLogger, type LogRecord } from '@pipewright/runtime';

export interface FixtureEventOptions {
  /** Extension parameters (association and dynamic), as AppConfig sends them: strings. */
  params?: Record<string, string | number | boolean>;
  /** The configuration content (PRE_* only). Default `{}`. */
  content?: string | Uint8Array;
  contentType?: string;
  /** Extra or replacement members of the raw event (PascalCase, as AppConfig sends it). */
  event?: Record<string, unknown>;
}

export interface InvokeExtensionOptions extends FixtureEventOptions {
  /** Where the host and the plugin log (masked as the Lambda host would). Default: into `logs`. */
  logger?: Logger;
  /** Collects the log records of the invocation when no `logger` is given. */
  logs?: LogRecord[];
  signal?: AbortSignal;
  /** Fail the plugin after this many milliseconds, as the host's deadline would. */
  timeoutMs?: number;
}

const stringify = (params: FixtureEventOptions['params']) =>
  Object.fromEntries(Object.entries(params ?? {}).map(([k, v]) => [k, String(v)]));

/**
 * A raw AppConfig event for an action point, shaped like the documented payloads (PascalCase, base64
 * `Content`), for tests. The tick uses AppConfig's documented shape (`DeploymentState`, a string
 * `PercentageComplete`).
 */
export function fixtureEvent(point: ActionPoint, options: FixtureEventOptions = {}): Record<string, unknown> {
  const content = options.content ?? '{}';
  const base64 = Buffer.from(typeof content === 'string' ? Buffer.from(content) : content).toString('base64');
  const common = {
    InvocationId: 'test123',
    Parameters: stringify(options.params),
    Type: EVENT_TYPES[point],
    Application: { Id: 'app1234', Name: 'TestApplication' },
    ConfigurationProfile: { Id: 'prof567', Name: 'TestProfile' },
    Description: 'test',
  };
  const deployment = { Environment: { Id: 'env8901', Name: 'TestEnvironment' }, DeploymentNumber: 1 };
  let event: Record<string, unknown>;
  switch (point) {
    case 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION':
      event = {
        ...common,
        ContentType: options.contentType ?? 'application/json',
        ContentVersion: '2',
        Content: base64,
      };
      break;
    case 'PRE_START_DEPLOYMENT':
      event = {
        ...common,
        ...deployment,
        ContentType: options.contentType ?? 'application/json',
        ContentVersion: '1',
        Content: base64,
      };
      break;
    case 'AT_DEPLOYMENT_TICK':
      event = {
        ...common,
        ...deployment,
        ConfigurationVersion: '1',
        DeploymentState: 'DEPLOYING',
        PercentageComplete: '50.0',
      };
      break;
    default:
      event = { ...common, ...deployment, ConfigurationVersion: '1' };
  }
  return { ...event, ...options.event };
}

/**
 * Invokes a plugin's extension the way the Lambda host does (same dispatch, parameter validation, masking
 * and response mapping) and returns the JSON AppConfig would receive: `null`, `{ Content }`,
 * `{ Directive, Description }` or `{ Error, Message, Details }`.
 *
 * `eventOrPoint` is an action point (a fixture event is built from `options`) or a raw event.
 * Validator events fail by throwing, as on Lambda.
 */
export async function invokeExtension(
  plugin: AnyPlugin,
  eventOrPoint: ActionPoint | Record<string, unknown>,
  options: InvokeExtensionOptions = {},
): Promise<AppConfigResponse> {
  const records = options.logs;
  const logger =
    options.logger ?? createLogger({ level: 'debug', sink: (record) => void records?.push(record) });
  // Validator events carry no parameters: the Lambda host supplies defaults, and so does this.
  const host = createExtensionHost({
    plugins: [plugin],
    logger,
    defaultParameters: isValidatorEvent(eventOrPoint) ? stringify(options.params) : {},
  });
  let event: Record<string, unknown>;
  if (typeof eventOrPoint === 'string') {
    event = fixtureEvent(eventOrPoint, options);
  } else {
    event =
      options.params === undefined || isValidatorEvent(eventOrPoint as unknown)
        ? eventOrPoint
        : { ...eventOrPoint, Parameters: stringify(options.params) };
  }
  return host.handle(event, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}
