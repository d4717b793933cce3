import { type FailureType, PluginError } from './errors.js';
import type { JsonValue } from './json.js';
import { CODEPIPELINE } from './limits.js';

export interface Revision {
  revision: string;
  changeIdentifier: string;
  created?: Date;
  revisionSummary?: string;
}

export interface Succeeded {
  status: 'succeeded';
  summary?: string;
  outputVariables?: Record<string, string>;
  externalExecutionId?: string;
  currentRevision?: Revision;
}

export interface InProgress {
  status: 'in-progress';
  /** Carried as the continuation token and handed back as `ctx.continuation` in the next job. */
  state: JsonValue;
  summary?: string;
  percentComplete?: number;
  externalExecutionId?: string;
}

export interface Failed {
  status: 'failed';
  failureType: FailureType;
  message: string;
  externalExecutionId?: string;
  details?: JsonValue;
}

export type ActionResult = Succeeded | InProgress | Failed;

export function succeeded(fields: Omit<Succeeded, 'status'> = {}): Succeeded {
  return { status: 'succeeded', ...fields };
}

/**
 * Report progress and continue later. The state must serialise to at most 2048 characters of JSON, the size
 * of a continuation token; store anything larger elsewhere and carry its key.
 */
export function inProgress(state: JsonValue, fields: Omit<InProgress, 'status' | 'state'> = {}): InProgress {
  const token = JSON.stringify(state);
  if (token === undefined) {
    throw new PluginError('CONTINUATION_INVALID', 'continuation state must be a JSON value');
  }
  if (token.length > CODEPIPELINE.continuationTokenMax) {
    throw new PluginError(
      'CONTINUATION_TOO_LARGE',
      `continuation state is ${token.length} characters of JSON; CodePipeline carries at most ${CODEPIPELINE.continuationTokenMax}. Keep large state elsewhere (an S3 object, for example) and carry its key.`,
      { failureType: 'JobFailed' },
    );
  }
  if (
    fields.percentComplete !== undefined &&
    !(fields.percentComplete >= 0 && fields.percentComplete <= 100)
  ) {
    throw new PluginError(
      'PERCENT_INVALID',
      `percentComplete must be between 0 and 100, got ${fields.percentComplete}`,
    );
  }
  return { status: 'in-progress', state, ...fields };
}

export function failed(
  message: string,
  fields: { failureType?: FailureType; externalExecutionId?: string; details?: JsonValue } = {},
): Failed {
  const { failureType = 'JobFailed', ...rest } = fields;
  return { status: 'failed', failureType, message, ...rest };
}
