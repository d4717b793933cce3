import { randomInt, randomUUID } from 'node:crypto';
import { findActionType } from './actionTypes.js';
import { type Env, pipelineArn } from './context.js';
import { Checker, err, UUID } from './errors.js';
import { completeAction, findAction, storeFor } from './executions.js';
import { type ActionExecutionRecord, type ActionTypeId, type JobRecord, typeKey } from './model.js';

/**
 * The job-worker API. A job moves Queued -> Dispatched (polled) -> InProgress (acknowledged) -> Succeeded
 * or Failed (a result) or TimedOut. A continuation token on success ends the job and queues a new one for
 * the same action execution, carrying the token.
 */

const OUTPUT_VARIABLES_LIMIT = 122_880;
const FAILURE_TYPES = [
  'JobFailed',
  'ConfigurationError',
  'PermissionError',
  'RevisionOutOfSync',
  'RevisionUnavailable',
  'SystemUnavailable',
] as const;

const newNonce = () => String(randomInt(1, 2 ** 31));

export function createJob(env: Env, rec: ActionExecutionRecord, continuationToken?: string): JobRecord {
  const job: JobRecord = {
    id: randomUUID(),
    nonce: newNonce(),
    status: 'Queued',
    pipelineExecutionId: rec.pipelineExecutionId,
    actionExecutionId: rec.actionExecutionId,
    actionTypeId: rec.actionTypeId,
    configuration: rec.resolvedConfiguration,
    ...(continuationToken !== undefined ? { continuationToken } : {}),
    createdAt: Date.now(),
  };
  env.jobs.set(job.id, job);
  env.changed();
  return job;
}

/** JobData as AWS sends it, with fresh credentials scoped to this job's artifacts. */
function jobData(env: Env, job: JobRecord) {
  const found = findAction(env, job.actionExecutionId, job.pipelineExecutionId);
  if (!found) throw err('JobNotFoundException', `Job ${job.id} cannot be found`);
  const { exec, rec } = found;
  const store = storeFor(exec, rec.region);
  const artifact = (a: { name: string; bucket: string; key: string; revision?: string }) => ({
    name: a.name,
    ...(a.revision ? { revision: a.revision } : {}),
    location: { type: 'S3', s3Location: { bucketName: a.bucket, objectKey: a.key } },
  });
  const creds = env.credentials.issue({
    bucket: store.location,
    readKeys: rec.inputArtifacts.map((a) => a.key),
    writeKeys: rec.outputArtifacts.map((a) => a.key),
    jobId: job.id,
  });
  return {
    actionTypeId: job.actionTypeId,
    actionConfiguration: { configuration: job.configuration },
    pipelineContext: {
      pipelineName: exec.pipelineName,
      stage: { name: rec.stageName },
      action: { name: rec.actionName, actionExecutionId: rec.actionExecutionId },
      pipelineArn: pipelineArn(env, exec.pipelineName),
      pipelineExecutionId: exec.pipelineExecutionId,
    },
    inputArtifacts: rec.inputArtifacts.map(artifact),
    outputArtifacts: rec.outputArtifacts.map(({ revision: _r, ...a }) => artifact(a)),
    artifactCredentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
    ...(job.continuationToken !== undefined ? { continuationToken: job.continuationToken } : {}),
    ...(store.encryptionKey ? { encryptionKey: store.encryptionKey } : {}),
  };
}

function checkJobId(c: Checker, jobId: unknown): void {
  c.string('jobId', jobId, { required: true, pattern: UUID });
}

function getJob(env: Env, jobId: string): JobRecord {
  const job = env.jobs.get(jobId);
  if (!job) throw err('JobNotFoundException', `Job with id ${jobId} was not found`);
  return job;
}

export function pollForJobs(
  env: Env,
  input: { actionTypeId?: ActionTypeId; maxBatchSize?: number; queryParam?: Record<string, string> },
) {
  const c = new Checker();
  const id = input.actionTypeId;
  if (c.required('actionTypeId', id)) {
    c.string('actionTypeId.category', id!.category, { required: true });
    c.string('actionTypeId.owner', id!.owner, { required: true });
    c.string('actionTypeId.provider', id!.provider, { required: true, min: 1, max: 35 });
    c.string('actionTypeId.version', id!.version, { required: true, min: 1, max: 9 });
  }
  c.integer('maxBatchSize', input.maxBatchSize, { min: 1 });
  const query = input.queryParam ?? {};
  const entries = Object.entries(query);
  if (entries.length > 1) c.fail('queryParam', query, 'Member must have length less than or equal to 1');
  for (const [k, v] of entries) {
    c.string('queryParam.key', k, { min: 1, max: 50 });
    c.string(`queryParam.${k}`, v, { min: 1, max: 50, pattern: /^[a-zA-Z0-9_-]+$/ });
  }
  c.throwIfAny();
  if (id!.owner !== 'Custom')
    throw err('ValidationException', `ActionType with owner '${id!.owner}' is not supported`);
  const type = findActionType(env, id!);
  if (!type || type.deleted) {
    throw err('ActionTypeNotFoundException', `ActionType ${typeKey(id!)} cannot be found`);
  }
  const queryable = type.actionType.actionConfigurationProperties?.find((p) => p.queryable);
  if (queryable && query[queryable.name] === undefined) {
    throw err('ValidationException', `queryParam must contain the queryable property ${queryable.name}`);
  }
  if (!queryable && entries.length > 0) {
    throw err(
      'ValidationException',
      'queryParam must be empty for an action type without a queryable property',
    );
  }
  sweepJobs(env);
  const key = typeKey(id!);
  const max = input.maxBatchSize ?? 1;
  const picked: JobRecord[] = [];
  for (const job of env.jobs.values()) {
    if (picked.length >= max) break;
    if (job.status !== 'Queued' || typeKey(job.actionTypeId) !== key) continue;
    if (queryable && job.configuration[queryable.name] !== query[queryable.name]) continue;
    picked.push(job);
  }
  if (picked.length === 0) return { jobs: [] };
  const now = Date.now();
  const jobs = picked.map((job) => {
    job.status = 'Dispatched';
    job.dispatchedAt = now;
    return { id: job.id, data: jobData(env, job), nonce: job.nonce, accountId: env.accountId };
  });
  env.changed();
  return { jobs };
}

export function acknowledgeJob(env: Env, input: { jobId?: string; nonce?: string }) {
  const c = new Checker();
  checkJobId(c, input.jobId);
  c.string('nonce', input.nonce, { required: true, min: 1, max: 50 });
  c.throwIfAny();
  sweepJobs(env);
  const job = getJob(env, input.jobId!);
  if (input.nonce !== job.nonce)
    throw err('InvalidNonceException', 'The nonce was specified in an invalid format.');
  if (job.status === 'InProgress') {
    // Someone (maybe this worker) already claimed the job: a second claim must lose, as on AWS.
    throw err('InvalidNonceException', 'The job has already been acknowledged.');
  }
  if (job.status === 'Queued' || job.status === 'Dispatched') {
    job.status = 'InProgress';
    job.acknowledgedAt = Date.now();
    env.changed();
  }
  return { status: job.status };
}

export function getJobDetails(env: Env, input: { jobId?: string }) {
  const c = new Checker();
  checkJobId(c, input.jobId);
  c.throwIfAny();
  const job = getJob(env, input.jobId!);
  return { jobDetails: { id: job.id, data: jobData(env, job), accountId: env.accountId } };
}

function inProgressJob(env: Env, jobId: string) {
  sweepJobs(env);
  const job = getJob(env, jobId);
  if (job.status !== 'InProgress') {
    throw err(
      'InvalidJobStateException',
      `Job ${jobId} is ${job.status}; a result is accepted only for a job InProgress`,
    );
  }
  const found = findAction(env, job.actionExecutionId, job.pipelineExecutionId);
  if (!found) throw err('JobNotFoundException', `Job with id ${jobId} was not found`);
  return { job, ...found };
}

interface ExecutionDetails {
  summary?: string;
  externalExecutionId?: string;
  percentComplete?: number;
}

function recordDetails(env: Env, rec: ActionExecutionRecord, details: ExecutionDetails | undefined): void {
  if (!details) return;
  if (details.summary !== undefined) rec.summary = details.summary;
  if (details.percentComplete !== undefined) rec.percentComplete = details.percentComplete;
  if (details.externalExecutionId !== undefined) {
    rec.externalExecutionId = details.externalExecutionId;
    const template = findActionType(env, rec.actionTypeId)?.actionType.settings?.executionUrlTemplate;
    if (template) {
      rec.externalExecutionUrl = template
        .replaceAll('{ExternalExecutionId}', details.externalExecutionId)
        .replace(/\{Config:([^}]+)\}/g, (_m, name: string) => rec.resolvedConfiguration[name] ?? '');
    }
  }
  rec.lastUpdateTime = Date.now();
}

export function putJobSuccessResult(
  env: Env,
  input: {
    jobId?: string;
    currentRevision?: {
      revision?: string;
      changeIdentifier?: string;
      created?: number;
      revisionSummary?: string;
    };
    continuationToken?: string;
    executionDetails?: ExecutionDetails;
    outputVariables?: Record<string, string>;
  },
) {
  const c = new Checker();
  checkJobId(c, input.jobId);
  c.string('continuationToken', input.continuationToken, { min: 1, max: 2048 });
  const d = input.executionDetails;
  if (d) {
    c.string('executionDetails.summary', d.summary, { min: 1, max: 2048 });
    c.string('executionDetails.externalExecutionId', d.externalExecutionId, { min: 1, max: 1500 });
    c.integer('executionDetails.percentComplete', d.percentComplete, { min: 0, max: 100 });
  }
  const r = input.currentRevision;
  if (r) {
    c.string('currentRevision.revision', r.revision, { required: true, min: 1, max: 1500 });
    c.string('currentRevision.changeIdentifier', r.changeIdentifier, { required: true, min: 1, max: 100 });
    c.string('currentRevision.revisionSummary', r.revisionSummary, { min: 1, max: 2048 });
  }
  for (const k of Object.keys(input.outputVariables ?? {})) {
    c.string('outputVariables.key', k, { pattern: /^[A-Za-z0-9@\-_]+$/ });
  }
  c.throwIfAny();
  if (input.continuationToken !== undefined && input.outputVariables !== undefined) {
    throw err(
      'ValidationException',
      'outputVariables can be included only when there is no continuation token on the request',
    );
  }
  const vars = input.outputVariables;
  if (vars) {
    const size = Object.entries(vars).reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
      0,
    );
    if (size > OUTPUT_VARIABLES_LIMIT) {
      throw err(
        'OutputVariablesSizeExceededException',
        'Exceeded the total size limit for all variables in the pipeline.',
      );
    }
  }
  const { job, exec, rec } = inProgressJob(env, input.jobId!);
  job.status = 'Succeeded';
  job.finishedAt = Date.now();
  recordDetails(env, rec, d);
  if (input.continuationToken !== undefined) {
    createJob(env, rec, input.continuationToken);
    return {};
  }
  completeAction(env, exec, rec, {
    status: 'Succeeded',
    ...(vars ? { outputVariables: vars } : {}),
    ...(r?.revision ? { revision: r.revision } : {}),
  });
  return {};
}

export function putJobFailureResult(
  env: Env,
  input: {
    jobId?: string;
    failureDetails?: { type?: string; message?: string; externalExecutionId?: string };
  },
) {
  const c = new Checker();
  checkJobId(c, input.jobId);
  const f = input.failureDetails;
  if (c.required('failureDetails', f)) {
    c.string('failureDetails.type', f!.type, { required: true, enum: FAILURE_TYPES });
    c.string('failureDetails.message', f!.message, { required: true, min: 1, max: 5000 });
    c.string('failureDetails.externalExecutionId', f!.externalExecutionId, { min: 1, max: 1500 });
  }
  c.throwIfAny();
  const { job, exec, rec } = inProgressJob(env, input.jobId!);
  job.status = 'Failed';
  job.finishedAt = Date.now();
  if (f!.externalExecutionId) recordDetails(env, rec, { externalExecutionId: f!.externalExecutionId });
  rec.summary = f!.message;
  completeAction(env, exec, rec, { status: 'Failed', code: f!.type!, message: f!.message! });
  return {};
}

/** Applies the job timeouts. Called before every job operation and by a timer, so no job lingers. */
export function sweepJobs(env: Env, now = Date.now()): void {
  const t = env.jobTimeouts;
  for (const job of env.jobs.values()) {
    if (job.status === 'Dispatched' && now - job.dispatchedAt! >= t.redispatchMs) {
      // Handed out but never claimed: offer it again under a new nonce, so a late claim loses.
      job.status = 'Queued';
      job.nonce = newNonce();
      env.changed();
    }
    const unacked =
      (job.status === 'Queued' || job.status === 'Dispatched') && now - job.createdAt >= t.unacknowledgedMs;
    const stalled = job.status === 'InProgress' && now - job.acknowledgedAt! >= t.inProgressMs;
    if (!unacked && !stalled) continue;
    job.status = 'TimedOut';
    job.finishedAt = now;
    const found = findAction(env, job.actionExecutionId, job.pipelineExecutionId);
    if (found) {
      completeAction(env, found.exec, found.rec, {
        status: 'Failed',
        code: 'TimedOut',
        message: unacked
          ? 'The action timed out: no job worker acknowledged the job'
          : 'The action timed out: the job worker did not report a result',
      });
    }
    env.changed();
  }
}
