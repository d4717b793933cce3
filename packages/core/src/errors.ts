import type { JsonValue } from './json.js';

/** The failure types CodePipeline's PutJobFailureResult accepts. */
export const FAILURE_TYPES = [
  'JobFailed',
  'ConfigurationError',
  'PermissionError',
  'RevisionOutOfSync',
  'RevisionUnavailable',
  'SystemUnavailable',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

export interface PluginErrorOptions {
  /** Extra facts for the job failure or the AppConfig rejection, JSON-serialisable. */
  details?: JsonValue;
  /** How CodePipeline should classify the failure when this error ends a job. Default JobFailed. */
  failureType?: FailureType;
  cause?: unknown;
}

/**
 * An error a plugin throws on purpose. The host stamps the plugin's name on it (`plugin`) and maps it to a
 * PutJobFailureResult or to AppConfig's error response.
 */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  readonly code: string;
  readonly details: JsonValue | undefined;
  readonly failureType: FailureType;
  /** Set by the host: the plugin that threw. */
  plugin: string | undefined;

  constructor(code: string, message: string, options: PluginErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.failureType = options.failureType ?? 'JobFailed';
  }

  static is(value: unknown): value is PluginError {
    return value instanceof PluginError || (value instanceof Error && value.name === 'PluginError');
  }
}

/** A plugin definition that breaks an AWS limit; every problem is listed, each naming its field. */
export class PluginDefinitionError extends Error {
  override readonly name = 'PluginDefinitionError';
  constructor(
    readonly plugin: string,
    readonly problems: readonly string[],
  ) {
    super(`plugin ${plugin} is not a valid definition:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Configuration that does not match the plugin's schema; every problem is listed with its property. */
export class ConfigurationError extends PluginError {
  constructor(
    plugin: string,
    readonly problems: readonly { property: string; message: string }[],
  ) {
    super(
      'INVALID_CONFIGURATION',
      `invalid configuration: ${problems.map((p) => `${p.property}: ${p.message}`).join('; ')}`,
      { failureType: 'ConfigurationError', details: problems.map((p) => ({ ...p })) },
    );
    this.plugin = plugin;
  }
}
