import type { AnyPlugin, AppConfigResponse } from '@pipewright/core';
import { createExtensionHost } from '@pipewright/extension-host';
import { PowertoolsLogger, powertoolsLogger } from './logger.js';
import { selectPlugins } from './plugins.js';

/** What the handler reads from Lambda's context object. */
export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  getRemainingTimeInMillis(): number;
}

export interface LambdaHandlerOptions {
  /** The plugins to choose from. Default: the bundled ones. */
  plugins?: readonly AnyPlugin[];
  /** Default process.env. */
  env?: Record<string, string | undefined>;
}

/** Time kept back from the Lambda's remaining time, so the host answers before Lambda kills it. */
const MARGIN_MS = 300;
const PARAM_PREFIX = 'PIPEWRIGHT_PARAM_';

/**
 * Builds the Lambda handler: `PIPEWRIGHT_PLUGINS` picks plugins by name (default all), `PIPEWRIGHT_PARAM_<NAME>`
 * gives a default for a parameter (used when the event has none, e.g. for validators), and logs are
 * Powertools JSON (level from `POWERTOOLS_LOG_LEVEL`).
 */
export function createLambdaHandler(options: LambdaHandlerOptions = {}) {
  const env = options.env ?? process.env;
  const plugins = selectPlugins(env.PIPEWRIGHT_PLUGINS, options.plugins);
  const defaultParameters = Object.fromEntries(
    Object.entries(env)
      .filter(([k, v]) => k.startsWith(PARAM_PREFIX) && v !== undefined && v !== '')
      .map(([k, v]) => [k.slice(PARAM_PREFIX.length), v as string]),
  );
  const base = new PowertoolsLogger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'pipewright-extensions' });
  const host = createExtensionHost({ plugins, logger: powertoolsLogger(base), defaultParameters });

  return async function handler(event: unknown, context?: LambdaContext): Promise<AppConfigResponse> {
    if (context) base.addContext(context as never);
    const remaining = context?.getRemainingTimeInMillis?.();
    return host.handle(
      event,
      remaining === undefined ? {} : { timeoutMs: Math.max(1, remaining - MARGIN_MS) },
    );
  };
}
