import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '@pipewright/core';

/** Core's Logger over Powertools Logger: structured JSON with Lambda's context keys. */
export function powertoolsLogger(base: PowertoolsLogger, fields: Record<string, unknown> = {}): Logger {
  const emit =
    (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, extra?: Record<string, unknown>) =>
      base[level](message, { ...fields, ...extra });
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => powertoolsLogger(base, { ...fields, ...more }),
  };
}

export { PowertoolsLogger };
