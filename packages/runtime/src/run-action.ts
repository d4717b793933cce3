import {
  type ActionResult,
  type AnyPlugin,
  type AwsCredentials,
  CODEPIPELINE,
  type FailureType,
  type JsonValue,
  type Logger,
  type PipelineContext,
  PluginError,
  parseConfig,
  secretValues,
} from '@pipewright/core';
import { createExec } from './exec.js';
import type { Masker } from './masker.js';
import { truncateEnd, truncateStart } from './truncate.js';

export interface RunActionOptions {
  plugin: AnyPlugin;
  /** The action configuration as CodePipeline sends it (strings). */
  configuration: Readonly<Record<string, string>>;
  inputs: Readonly<Record<string, string>>;
  outputs: Readonly<Record<string, string>>;
  /**
   * The job's scratch folder, or a function that creates it: then it is made only when the plugin (or an
   * `exec` without an input artifact) first asks for it, which saves two file system calls per no-op job.
   */
  workspace: string | (() => string);
  continuation: JsonValue | undefined;
  pipeline: PipelineContext;
  signal: AbortSignal;
  logger: Logger;
  masker: Masker;
  /** Handed to the plugin (and its tools) only when its action declares `credentials`. */
  awsCredentials?: AwsCredentials;
  /** The environment the wrapped tools inherit from (minus credentials). Default process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  onCheckpoint?: (state: JsonValue) => void;
}

/** The message of any thrown value, with the plugin's name stamped on PluginErrors. */
export function describeError(
  plugin: string,
  error: unknown,
): { message: string; failureType: FailureType; details?: JsonValue } {
  if (PluginError.is(error)) {
    error.plugin ??= plugin;
    return {
      message: `${plugin}: ${error.message}`,
      failureType: error.failureType,
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `${plugin} failed: ${message}`, failureType: 'JobFailed' };
}

/**
 * Runs a plugin's custom action on folders that are already in place: validates the configuration, builds
 * the context, calls `run`, and turns whatever happens (a result, nothing, a throw) into a result that fits
 * CodePipeline's limits with every secret masked. Never throws.
 */
export async function runAction(o: RunActionOptions): Promise<ActionResult> {
  const { plugin, masker } = o;
  const action = plugin.action;
  if (!action)
    return {
      status: 'failed',
      failureType: 'ConfigurationError',
      message: `${plugin.name} defines no custom action`,
    };
  let result: ActionResult;
  try {
    const config = parseConfig(plugin.name, plugin.config, o.configuration, 'action');
    for (const secret of secretValues(plugin.config, config)) masker.add(secret);
    const wantsCredentials = action.credentials === 'worker' || action.credentials === 'artifacts';
    const credentials = wantsCredentials ? o.awsCredentials : undefined;
    const credentialEnv = credentials
      ? {
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
        }
      : {};
    const inputNames = Object.keys(o.inputs);
    const outputNames = Object.keys(o.outputs);
    const input = inputNames[0] === undefined ? undefined : o.inputs[inputNames[0]];
    const workspace = typeof o.workspace === 'function' ? o.workspace : () => o.workspace as string;
    const returned = await action.run({
      config,
      inputs: o.inputs,
      input,
      outputs: o.outputs,
      output: outputNames[0] === undefined ? undefined : o.outputs[outputNames[0]],
      get workspace() {
        return workspace();
      },
      logger: o.logger,
      exec: createExec({
        logger: o.logger,
        masker,
        signal: o.signal,
        cwd: input ?? workspace,
        env: credentialEnv,
        baseEnv: o.baseEnv,
      }),
      signal: o.signal,
      continuation: o.continuation,
      checkpoint: (state) => o.onCheckpoint?.(state),
      pipeline: o.pipeline,
      mask: (secret) => masker.add(secret),
      awsCredentials: credentials,
    });
    result = returned ?? { status: 'succeeded' };
  } catch (error) {
    const described = describeError(plugin.name, error);
    result = { status: 'failed', ...described };
  }
  return fitResult(result, masker);
}

/** Masks secrets and cuts every field to what CodePipeline accepts; an oversized continuation fails. */
export function fitResult(result: ActionResult, masker: Masker): ActionResult {
  const m = (s: string | undefined) => (s === undefined ? undefined : masker.mask(s));
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: V };
  const id = m(result.externalExecutionId);
  const externalExecutionId =
    id === undefined ? undefined : truncateStart(id, CODEPIPELINE.externalExecutionIdMax);
  switch (result.status) {
    case 'failed':
      return {
        status: 'failed',
        failureType: result.failureType,
        message: truncateEnd(m(result.message) || 'the action failed', CODEPIPELINE.failureMessageMax),
        ...optional('externalExecutionId', externalExecutionId),
        ...optional('details', result.details === undefined ? undefined : masker.maskValue(result.details)),
      };
    case 'in-progress': {
      const token = JSON.stringify(result.state);
      if (token === undefined || token.length > CODEPIPELINE.continuationTokenMax) {
        return {
          status: 'failed',
          failureType: 'JobFailed',
          message: `the continuation state is ${token?.length ?? 0} characters of JSON; CodePipeline carries at most ${CODEPIPELINE.continuationTokenMax}. Keep large state elsewhere and carry its key.`,
          ...optional('externalExecutionId', externalExecutionId),
        };
      }
      const percent = result.percentComplete;
      return {
        status: 'in-progress',
        state: result.state,
        ...optional('summary', m(result.summary) && truncateEnd(m(result.summary)!, CODEPIPELINE.summaryMax)),
        ...optional(
          'percentComplete',
          percent === undefined ? undefined : Math.max(0, Math.min(100, Math.round(percent))),
        ),
        ...optional('externalExecutionId', externalExecutionId),
      };
    }
    case 'succeeded': {
      const variables = result.outputVariables ? masker.maskValue(result.outputVariables) : undefined;
      if (variables) {
        const bad = Object.keys(variables).filter((k) => !CODEPIPELINE.outputVariableKeyPattern.test(k));
        const size = Object.entries(variables).reduce(
          (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
          0,
        );
        if (bad.length > 0 || size > CODEPIPELINE.outputVariablesBytesMax) {
          return {
            status: 'failed',
            failureType: 'JobFailed',
            message:
              bad.length > 0
                ? `output variable names must match [A-Za-z0-9@_-]+: ${bad.join(', ')}`
                : `output variables take ${size} bytes; CodePipeline allows ${CODEPIPELINE.outputVariablesBytesMax} per action`,
            ...optional('externalExecutionId', externalExecutionId),
          };
        }
      }
      const revision = result.currentRevision;
      return {
        status: 'succeeded',
        ...optional('summary', m(result.summary) && truncateEnd(m(result.summary)!, CODEPIPELINE.summaryMax)),
        ...optional('outputVariables', variables),
        ...optional('externalExecutionId', externalExecutionId),
        ...optional(
          'currentRevision',
          revision && {
            revision: truncateStart(revision.revision, CODEPIPELINE.revisionMax),
            changeIdentifier: truncateStart(revision.changeIdentifier, CODEPIPELINE.changeIdentifierMax),
            ...optional('created', revision.created),
            ...optional(
              'revisionSummary',
              revision.revisionSummary &&
                truncateEnd(revision.revisionSummary, CODEPIPELINE.revisionSummaryMax),
            ),
          },
        ),
      };
    }
  }
}
