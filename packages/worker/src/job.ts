import { mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AcknowledgeJobCommand,
  type CodePipelineClient,
  GetJobDetailsCommand,
  type Job,
  type JobData,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ArtifactError, ExtractLimits } from '@pipewright/artifacts';
import {
  type ActionResult,
  type AnyPlugin,
  type AwsCredentials,
  CODEPIPELINE,
  type FailureType,
  type JsonValue,
  type Logger,
  type PipelineContext,
  parseConfig,
} from '@pipewright/core';
import { describeError, Masker, runAction, truncateEnd } from '@pipewright/runtime';
import { removeTree } from './remove-tree.js';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  JobInfo,
  JobReport,
  JobStatus,
} from './types.js';

/** Everything a job needs from its worker. */
export interface JobEnvironment {
  client: CodePipelineClient;
  region: string;
  s3Endpoint: string | undefined;
  s3ForcePathStyle: boolean | undefined;
  workspaceDir: string;
  jobTimeoutMs: number;
  abortGraceMs: number;
  credentialsRefreshMs: number;
  extractLimits: Partial<ExtractLimits> | undefined;
  smallYoungGeneration: boolean;
  zipThreads: number | undefined;
  logger: Logger;
  /** A job's logger: the worker's, scoped to the job, masking with the job's secrets. */
  jobLogger: (fields: Record<string, unknown>, masker: Masker) => Logger;
  workerCredentials: () => Promise<AwsCredentials>;
  externalExecutionId: ((job: JobInfo) => string | undefined) | undefined;
  onSecret: (value: string) => void;
  /** Called once the job is claimed (not for jobs another worker won). */
  onStarted: (job: JobInfo) => void;
}

/** Why a job's signal fired. */
export type AbortCause = { kind: 'timeout' } | { kind: 'stop'; reason: string };

/** A job this worker holds: what `stop()` needs to hand it off or fail it. */
export class RunningJob {
  readonly controller = new AbortController();
  cause: AbortCause | undefined;
  checkpoint: JsonValue | undefined;
  /** The removal of the job's workspace, once the result is reported. */
  cleanup: Promise<void> | undefined;
  /** Resolves the wait for an aborted plugin at once (a second stop signal). */
  giveUp: () => void = () => {};
  #gaveUp = false;

  constructor(
    readonly info: JobInfo,
    readonly plugin: AnyPlugin,
  ) {}

  abort(cause: AbortCause): void {
    if (this.controller.signal.aborted) return;
    this.cause = cause;
    this.controller.abort(cause.kind === 'timeout' ? new Error('job timeout') : new Error(cause.reason));
  }

  immediate(cause: AbortCause): void {
    this.abort(cause);
    this.#gaveUp = true;
    this.giveUp();
  }

  get gaveUp(): boolean {
    return this.#gaveUp;
  }
}

/** The artifact code (and the S3 client) loads on the first job that has artifacts: a faster start. */
let artifactsModule: Promise<typeof import('@pipewright/artifacts')> | undefined;
const artifacts = async (env: JobEnvironment) => {
  artifactsModule ??= import('@pipewright/artifacts');
  const module = await artifactsModule;
  // Applied at createWorker; again here, as it is cheap and a thread started by someone else (a plugin's)
  // may have reset V8's flags since.
  if (env.smallYoungGeneration) module.limitYoungGeneration();
  return module;
};
const isArtifactError = (error: unknown): error is ArtifactError =>
  error instanceof Error && error.name === 'ArtifactError';

const errorName = (error: unknown) =>
  error && typeof error === 'object' && 'name' in error ? String((error as { name: unknown }).name) : '';
const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
const attempts = (error: unknown) =>
  (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;

export function jobInfo(job: Job): JobInfo {
  const data = job.data ?? {};
  const t = data.actionTypeId;
  return {
    jobId: job.id ?? '',
    pipelineName: data.pipelineContext?.pipelineName ?? '',
    stageName: data.pipelineContext?.stage?.name ?? '',
    actionName: data.pipelineContext?.action?.name ?? '',
    actionType: t ? `${t.category}/${t.provider}/${t.version}` : '',
    continuation: data.continuationToken !== undefined,
  };
}

/** Masks every message and field before it reaches the worker's logger. */
export function maskingLogger(base: Logger, masker: Masker): Logger {
  const wrap =
    (fn: (m: string, f?: Record<string, unknown>) => void) => (m: string, f?: Record<string, unknown>) =>
      fn(masker.mask(m), f && masker.maskValue(f));
  return {
    debug: wrap((m, f) => base.debug(m, f)),
    info: wrap((m, f) => base.info(m, f)),
    warn: wrap((m, f) => base.warn(m, f)),
    error: wrap((m, f) => base.error(m, f)),
    child: (fields) => maskingLogger(base.child(masker.maskValue(fields)), masker),
  };
}

function parseToken(token: string | undefined): JsonValue | undefined {
  if (token === undefined) return undefined;
  try {
    return JSON.parse(token) as JsonValue;
  } catch {
    // A token written by another tool: hand it over as it is.
    return token;
  }
}

/** Waits for the plugin, but not forever once its signal fired: a plugin that ignores abort is left behind. */
function settleWithin<T>(work: Promise<T>, job: RunningJob, graceMs: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (value: T | undefined) => {
      if (timer) clearTimeout(timer);
      job.controller.signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => {
      timer = setTimeout(() => finish(undefined), graceMs);
    };
    job.giveUp = () => finish(undefined);
    if (job.gaveUp) return finish(undefined);
    if (job.controller.signal.aborted) onAbort();
    else job.controller.signal.addEventListener('abort', onAbort, { once: true });
    work.then(finish, (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
  });
}

class JobFailure extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
  ) {
    super(message);
  }
}

function artifactFailure(what: string, error: ArtifactError): JobFailure {
  const type: FailureType = error.code === 'ACCESS_DENIED' ? 'PermissionError' : 'JobFailed';
  return new JobFailure(`${what}: ${error.message}`, type);
}

/** The credentials of one job, refreshed through GetJobDetails before they expire. */
function jobCredentialsProvider(
  env: JobEnvironment,
  jobId: string,
  initial: AwsCredentialIdentity,
  masker: Masker,
  signal: AbortSignal,
): { provider: AwsCredentialIdentityProvider; current: () => AwsCredentialIdentity } {
  let current = initial;
  let obtainedAt = Date.now();
  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    const out = await env.client.send(new GetJobDetailsCommand({ jobId }), { abortSignal: signal });
    const c = out.jobDetails?.data?.artifactCredentials;
    if (c?.accessKeyId && c.secretAccessKey) {
      for (const s of [c.accessKeyId, c.secretAccessKey, c.sessionToken]) {
        if (s) {
          masker.add(s);
          env.onSecret(s);
        }
      }
      current = {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
      };
      obtainedAt = Date.now();
    }
  };
  const provider = async () => {
    if (Date.now() - obtainedAt >= env.credentialsRefreshMs) {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
    }
    // The SDK asks again when this nears; CodePipeline's credentials last about 15 minutes.
    return { ...current, expiration: new Date(obtainedAt + env.credentialsRefreshMs + 5 * 60_000) };
  };
  return { provider, current: () => current };
}

/** The job's folder goes off the event loop, a few files at a time (see removeTree); a failure is left. */
async function removeWorkspace(dir: string): Promise<void> {
  await removeTree(dir).catch(() => {});
}

type Outcome =
  | { kind: 'result'; result: ActionResult }
  | { kind: 'handoff'; state: JsonValue; reason: string; externalExecutionId?: string };

/**
 * Claims, runs and reports one job. Never throws: every problem ends as a job failure or, when CodePipeline
 * cannot be told, as a report saying so.
 */
export async function processJob(env: JobEnvironment, job: Job, running: RunningJob): Promise<JobReport> {
  const started = Date.now();
  const info = running.info;
  const plugin = running.plugin;
  const data: JobData = job.data ?? {};
  const masker = new Masker();
  const addSecret = (s: string | undefined) => {
    if (!s) return;
    masker.add(s);
    env.onSecret(s);
  };
  const creds = data.artifactCredentials;
  addSecret(creds?.accessKeyId);
  addSecret(creds?.secretAccessKey);
  addSecret(creds?.sessionToken);
  const configuration = data.actionConfiguration?.configuration ?? {};
  for (const p of plugin.properties) if (p.secret) addSecret(configuration[p.name]);
  const log = env.jobLogger(
    {
      jobId: info.jobId,
      pipeline: info.pipelineName,
      stage: info.stageName,
      action: info.actionName,
      actionType: info.actionType,
    },
    masker,
  );
  const report = (status: JobStatus, fields: Partial<JobReport> = {}): JobReport => ({
    ...info,
    status,
    durationMs: Date.now() - started,
    ...fields,
  });

  // Claim it: another worker may have won the nonce.
  try {
    const ack = await env.client.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
    if (ack.status !== 'InProgress') {
      log.debug('job not claimed', { status: ack.status });
      return report('skipped', { message: `job is ${ack.status}` });
    }
  } catch (error) {
    const name = errorName(error);
    if (name === 'InvalidNonceException' && attempts(error) > 1) {
      // A nonce goes to one poller only, so a retry refused for it means our first attempt landed and only
      // its answer was lost: the job is ours. (Skipping it would leave it to time out.)
      log.warn('AcknowledgeJob was retried and the retry found the job claimed: taking it as ours', {
        attempts: attempts(error),
      });
    } else if (name === 'InvalidNonceException' || name === 'JobNotFoundException') {
      log.debug('job claimed by another worker');
      return report('skipped', { message: 'claimed by another worker' });
    } else {
      log.warn('could not acknowledge the job; it will be offered again', { error: errorMessage(error) });
      return report('skipped', { message: `AcknowledgeJob failed: ${errorMessage(error)}` });
    }
  }
  log.info('job started', { continuation: info.continuation });
  env.onStarted(info);

  const signal = running.controller.signal;
  const timer = setTimeout(() => running.abort({ kind: 'timeout' }), env.jobTimeoutMs);
  const continuation = parseToken(data.continuationToken);
  let workspace: string | undefined;
  let outcome: Outcome;
  try {
    outcome = await runJob();
  } catch (error) {
    // Only the worker's own bugs land here; the job still gets an answer.
    log.error('job crashed in the worker', { error: errorMessage(error) });
    outcome = {
      kind: 'result',
      result: { status: 'failed', failureType: 'JobFailed', message: `worker error: ${errorMessage(error)}` },
    };
  } finally {
    clearTimeout(timer);
  }
  outcome = applyAbort(outcome);
  const final = await sendResult(outcome);
  // The slot frees as soon as CodePipeline has the answer; the worker still waits for the removal.
  if (workspace) running.cleanup = removeWorkspace(workspace);
  log.info('job finished', {
    status: final.status,
    durationMs: final.durationMs,
    ...(final.message ? { message: final.message } : {}),
  });
  return final;

  async function runJob(): Promise<Outcome> {
    // Validate before anything runs or downloads.
    try {
      parseConfig(plugin.name, plugin.config, configuration, 'action');
    } catch (error) {
      return { kind: 'result', result: { status: 'failed', ...describeError(plugin.name, error) } };
    }
    const artifactsIn = data.inputArtifacts ?? [];
    const artifactsOut = data.outputArtifacts ?? [];
    const inputs: Record<string, string> = {};
    const outputs: Record<string, string> = {};
    // A job without artifacts gets its folder only when its plugin first asks for it: a no-op job then
    // costs no file system call at all, which shows at hundreds of jobs a second.
    let scratch: string | (() => string) = () => (workspace ??= mkdtempSync(join(env.workspaceDir, 'job-')));
    if (artifactsIn.length + artifactsOut.length > 0) {
      // Off the event loop: a blocking mkdir stalls every other job's I/O on a busy disk.
      const dir = await mkdtemp(join(env.workspaceDir, 'job-'));
      workspace = dir;
      for (const a of artifactsIn) inputs[a.name ?? 'input'] = join(dir, 'in', a.name ?? 'input');
      for (const a of artifactsOut) outputs[a.name ?? 'output'] = join(dir, 'out', a.name ?? 'output');
      scratch = join(dir, 'work');
      await Promise.all([scratch, ...Object.values(outputs)].map((d) => mkdir(d, { recursive: true })));
    }

    let s3: S3Client | undefined;
    let jobCreds: ReturnType<typeof jobCredentialsProvider> | undefined;
    if (creds?.accessKeyId && creds.secretAccessKey) {
      jobCreds = jobCredentialsProvider(
        env,
        info.jobId,
        {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          sessionToken: creds.sessionToken,
        },
        masker,
        signal,
      );
    }
    const artifactClient = async () => {
      if (!jobCreds) throw new JobFailure('the job carries no artifact credentials', 'PermissionError');
      const { createArtifactClient } = await artifacts(env);
      s3 ??= createArtifactClient({
        region: env.region,
        credentials: jobCreds.provider,
        ...(env.s3Endpoint ? { endpoint: env.s3Endpoint } : {}),
        ...(env.s3ForcePathStyle !== undefined ? { forcePathStyle: env.s3ForcePathStyle } : {}),
      });
      return s3;
    };
    try {
      try {
        await Promise.all(
          (data.inputArtifacts ?? []).map(async (a) => {
            const loc = a.location?.s3Location;
            const name = a.name ?? 'input';
            if (!loc?.bucketName || !loc.objectKey) {
              throw new JobFailure(`input artifact ${name} has no S3 location`, 'JobFailed');
            }
            try {
              const { downloadArtifact } = await artifacts(env);
              await downloadArtifact(
                await artifactClient(),
                { bucket: loc.bucketName, key: loc.objectKey },
                inputs[name]!,
                {
                  signal,
                  // The zip is spooled beside the job, on the disk the workspace was given, and goes with it.
                  tmpDir: workspace,
                  ...(env.extractLimits ? { limits: env.extractLimits } : {}),
                },
              );
            } catch (error) {
              if (isArtifactError(error)) throw artifactFailure(`input artifact ${name}`, error);
              throw error;
            }
          }),
        );
      } catch (error) {
        if (error instanceof JobFailure) {
          return {
            kind: 'result',
            result: { status: 'failed', failureType: error.failureType, message: error.message },
          };
        }
        throw error;
      }

      let awsCredentials: AwsCredentials | undefined;
      if (plugin.action?.credentials === 'artifacts' && jobCreds) awsCredentials = jobCreds.current();
      if (plugin.action?.credentials === 'worker') {
        awsCredentials = await env.workerCredentials();
        addSecret(awsCredentials.secretAccessKey);
        addSecret(awsCredentials.sessionToken);
      }
      const pipeline: PipelineContext = {
        jobId: info.jobId,
        accountId: job.accountId,
        pipelineName: info.pipelineName,
        stageName: info.stageName,
        actionName: info.actionName,
        actionExecutionId: data.pipelineContext?.action?.actionExecutionId,
        pipelineExecutionId: data.pipelineContext?.pipelineExecutionId,
        pipelineArn: data.pipelineContext?.pipelineArn,
      };
      const work = runAction({
        plugin,
        configuration,
        inputs,
        outputs,
        workspace: scratch,
        continuation,
        pipeline,
        signal,
        logger: log.child({ plugin: plugin.name }),
        masker,
        ...(awsCredentials ? { awsCredentials } : {}),
        onCheckpoint: (state) => {
          running.checkpoint = state;
        },
      });
      const result = await settleWithin(work, running, env.abortGraceMs);
      if (result === undefined) {
        return {
          kind: 'result',
          result: {
            status: 'failed',
            failureType: 'JobFailed',
            message: `${plugin.name} did not stop when asked; the worker gave up on it`,
          },
        };
      }
      if (result.status === 'succeeded' && !signal.aborted) {
        for (const a of data.outputArtifacts ?? []) {
          const loc = a.location?.s3Location;
          const name = a.name ?? 'output';
          if (!loc?.bucketName || !loc.objectKey) {
            return failure(`output artifact ${name} has no S3 location`);
          }
          try {
            const { uploadArtifact } = await artifacts(env);
            await uploadArtifact(
              await artifactClient(),
              outputs[name]!,
              { bucket: loc.bucketName, key: loc.objectKey },
              {
                signal,
                ...(env.zipThreads !== undefined ? { threads: env.zipThreads } : {}),
                ...(data.encryptionKey?.type === 'KMS' && data.encryptionKey.id
                  ? { kmsKeyId: data.encryptionKey.id }
                  : {}),
              },
            );
          } catch (error) {
            // Never report success when an output could not be stored.
            const message = isArtifactError(error) ? error.message : errorMessage(error);
            return failure(
              `output artifact ${name} could not be uploaded: ${message}`,
              result.externalExecutionId,
            );
          }
        }
      }
      return { kind: 'result', result };
    } finally {
      s3?.destroy();
    }
  }

  function failure(message: string, externalExecutionId?: string): Outcome {
    return {
      kind: 'result',
      result: {
        status: 'failed',
        failureType: 'JobFailed',
        message,
        ...(externalExecutionId ? { externalExecutionId } : {}),
      },
    };
  }

  /** A job stopped by a timeout or by the worker stopping gets the reason, or is handed off. */
  function applyAbort(o: Outcome): Outcome {
    const cause = running.cause;
    if (!cause || o.kind !== 'result' || o.result.status !== 'failed') return o;
    const externalExecutionId = o.result.externalExecutionId;
    if (cause.kind === 'timeout') {
      return failure(
        `the job ran longer than the worker's job timeout (${Math.round(env.jobTimeoutMs / 1000)} s) and was stopped`,
        externalExecutionId,
      );
    }
    const state = running.checkpoint ?? continuation;
    if (plugin.action?.resumable && state !== undefined) {
      return {
        kind: 'handoff',
        state,
        reason: cause.reason,
        ...(externalExecutionId ? { externalExecutionId } : {}),
      };
    }
    return failure(
      `the worker stopped (${cause.reason}) before the job finished; ${plugin.name} cannot resume, so run the action again`,
      externalExecutionId,
    );
  }

  async function sendResult(o: Outcome): Promise<JobReport> {
    const fallbackId = env.externalExecutionId?.(info);
    const m = (s: string | undefined) => (s === undefined ? undefined : masker.mask(s));
    if (o.kind === 'handoff') {
      const token = JSON.stringify(o.state);
      if (token.length <= CODEPIPELINE.continuationTokenMax) {
        const summary = `handed off: the worker stopped (${o.reason}); the next job resumes from the last checkpoint`;
        const externalExecutionId = o.externalExecutionId ?? fallbackId;
        const sent = await put(
          new PutJobSuccessResultCommand({
            jobId: info.jobId,
            continuationToken: m(token),
            executionDetails: { summary, ...(externalExecutionId ? { externalExecutionId } : {}) },
          }),
        );
        return (
          sent ?? report('handed-off', { summary, ...(externalExecutionId ? { externalExecutionId } : {}) })
        );
      }
      return sendResult(
        failure(`the worker stopped (${o.reason}) and the checkpoint is too large to hand off`),
      );
    }
    const r = o.result;
    const externalExecutionId = r.externalExecutionId ?? fallbackId;
    const ext = externalExecutionId ? { externalExecutionId } : {};
    if (r.status === 'failed') {
      const message = truncateEnd(
        masker.mask(r.message || 'the action failed'),
        CODEPIPELINE.failureMessageMax,
      );
      const sent = await put(
        new PutJobFailureResultCommand({
          jobId: info.jobId,
          failureDetails: { type: r.failureType, message, ...ext },
        }),
      );
      return sent ?? report('failed', { message, ...ext });
    }
    if (r.status === 'in-progress') {
      const sent = await put(
        new PutJobSuccessResultCommand({
          jobId: info.jobId,
          continuationToken: JSON.stringify(r.state),
          executionDetails: {
            ...(r.summary ? { summary: r.summary } : {}),
            ...(r.percentComplete !== undefined ? { percentComplete: r.percentComplete } : {}),
            ...ext,
          },
        }),
      );
      return sent ?? report('in-progress', { ...(r.summary ? { summary: r.summary } : {}), ...ext });
    }
    const rev = r.currentRevision;
    const success = new PutJobSuccessResultCommand({
      jobId: info.jobId,
      executionDetails: { ...(r.summary ? { summary: r.summary } : {}), percentComplete: 100, ...ext },
      ...(r.outputVariables ? { outputVariables: r.outputVariables } : {}),
      ...(rev
        ? {
            currentRevision: {
              revision: rev.revision,
              changeIdentifier: rev.changeIdentifier,
              ...(rev.created ? { created: rev.created } : {}),
              ...(rev.revisionSummary ? { revisionSummary: rev.revisionSummary } : {}),
            },
          }
        : {}),
    });
    const sent = await put(success, async (error) => {
      // CodePipeline refused the result itself (output variables too large, ...): fail the job instead.
      const message = truncateEnd(
        `CodePipeline refused the result: ${masker.mask(errorMessage(error))}`,
        CODEPIPELINE.failureMessageMax,
      );
      const again = await put(
        new PutJobFailureResultCommand({
          jobId: info.jobId,
          failureDetails: { type: 'JobFailed', message, ...ext },
        }),
      );
      return again ?? report('failed', { message, ...ext });
    });
    return sent ?? report('succeeded', { ...(r.summary ? { summary: r.summary } : {}), ...ext });
  }

  /**
   * Sends a result exactly once (the SDK retries throttling and 5xx). Resolves undefined when it landed, or a
   * report when it did not. A retry that meets InvalidJobStateException means an earlier attempt landed and
   * only its response was lost.
   */
  async function put(
    command: PutJobSuccessResultCommand | PutJobFailureResultCommand,
    onRejected?: (error: unknown) => Promise<JobReport>,
  ): Promise<JobReport | undefined> {
    try {
      await env.client.send(command as PutJobSuccessResultCommand);
      return undefined;
    } catch (error) {
      const name = errorName(error);
      if ((name === 'InvalidJobStateException' || name === 'JobNotFoundException') && attempts(error) > 1) {
        log.debug('result already recorded by an earlier attempt');
        return undefined;
      }
      if (name === 'InvalidJobStateException' || name === 'JobNotFoundException') {
        const message = `CodePipeline no longer accepts a result for this job (it timed out or finished elsewhere): ${errorMessage(error)}`;
        log.warn('late result', { error: errorMessage(error) });
        return report('failed', { message });
      }
      if ((name === 'ValidationException' || name === 'OutputVariablesSizeExceededException') && onRejected) {
        log.warn('result refused', { error: errorMessage(error) });
        return onRejected(error);
      }
      log.error('could not report the result; the job will time out', { error: errorMessage(error) });
      return report('failed', { message: `could not report the result: ${errorMessage(error)}` });
    }
  }
}
