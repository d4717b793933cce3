import { randomBytes, randomUUID } from 'node:crypto';
import { findActionType } from './actionTypes.js';
import type { Env } from './context.js';
import { Checker, err } from './errors.js';
import { createJob } from './jobs.js';
import type {
  ActionDeclaration,
  ActionExecutionRecord,
  ArtifactStore,
  ExecutionRecord,
  StageDeclaration,
} from './model.js';
import { getPipelineRecord } from './pipelines.js';
import { runSourceAction } from './source.js';

/**
 * The execution engine: stages in order; inside a stage, actions grouped by runOrder, each group in
 * parallel and after every smaller runOrder has succeeded; artifacts handed on by name; output variables
 * published under the action's namespace. It is driven by events (start, an action's end), never by a loop.
 */

export function startPipelineExecution(
  env: Env,
  input: { name?: string; variables?: { name: string; value: string }[]; clientRequestToken?: string },
) {
  const record = getPipelineRecord(env, input.name);
  const p = record.pipeline;
  const variables: Record<string, string> = {};
  for (const v of p.variables ?? []) if (v.defaultValue !== undefined) variables[v.name] = v.defaultValue;
  for (const v of input.variables ?? []) {
    if (!(p.variables ?? []).some((d) => d.name === v.name)) {
      throw err('ValidationException', `Variable ${v.name} is not declared in pipeline ${p.name}`);
    }
    variables[v.name] = v.value;
  }
  const now = Date.now();
  const exec: ExecutionRecord = {
    pipelineExecutionId: randomUUID(),
    pipelineName: p.name,
    pipelineVersion: p.version ?? 1,
    pipeline: structuredClone(p),
    status: 'InProgress',
    startTime: now,
    lastUpdateTime: now,
    trigger: {
      triggerType: 'StartPipelineExecution',
      triggerDetail: `arn:aws:iam::${env.accountId}:user/local`,
    },
    stageIndex: 0,
    stageStatus: {},
    artifacts: {},
    variables: { variables },
    actions: [],
  };
  env.executions.set(exec.pipelineExecutionId, exec);
  advance(env, exec);
  return { pipelineExecutionId: exec.pipelineExecutionId };
}

export function storeFor(exec: ExecutionRecord, region: string): ArtifactStore {
  const p = exec.pipeline;
  return p.artifactStore ?? p.artifactStores?.[region] ?? Object.values(p.artifactStores ?? {})[0]!;
}

/** `<pipeline (20 chars)>/<artifact name (10 chars)>/<7 random chars>`, the shape CodePipeline uses. */
function artifactKey(pipelineName: string, artifactName: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const rnd = [...randomBytes(7)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${pipelineName.slice(0, 20)}/${artifactName.slice(0, 10)}/${rnd}`;
}

export function advance(env: Env, exec: ExecutionRecord): void {
  if (exec.status === 'Stopping' && !exec.actions.some((a) => a.status === 'InProgress')) {
    // A stop without abandon waits for the running actions, then starts nothing more.
    exec.status = 'Stopped';
    const stage = exec.pipeline.stages[exec.stageIndex];
    if (stage) exec.stageStatus[stage.name] = 'Stopped';
  }
  while (exec.status === 'InProgress') {
    const stage = exec.pipeline.stages[exec.stageIndex];
    if (!stage) {
      exec.status = 'Succeeded';
      break;
    }
    if (exec.stageStatus[stage.name] === undefined) {
      if (!mayEnter(env, exec, stage.name)) break;
      exec.stageStatus[stage.name] = 'InProgress';
    }
    const records = exec.actions.filter((a) => a.stageName === stage.name);
    const failed = records.find((a) => a.status === 'Failed');
    if (failed) {
      exec.stageStatus[stage.name] = 'Failed';
      exec.status = 'Failed';
      exec.statusSummary = `Action ${failed.actionName} in stage ${stage.name} failed: ${failed.errorDetails?.message ?? 'unknown error'}`;
      break;
    }
    const orders = [...new Set(stage.actions.map((a) => a.runOrder ?? 1))].sort((a, b) => a - b);
    let waiting = false;
    for (const order of orders) {
      const group = stage.actions.filter((a) => (a.runOrder ?? 1) === order);
      const done = group.every((d) => records.find((r) => r.actionName === d.name)?.status === 'Succeeded');
      if (done) continue;
      for (const d of group) {
        if (!records.some((r) => r.actionName === d.name)) startAction(env, exec, stage, d);
      }
      waiting = true;
      break;
    }
    if (waiting) break;
    exec.stageStatus[stage.name] = 'Succeeded';
    exec.stageIndex++;
  }
  exec.lastUpdateTime = Date.now();
  env.changed();
  wakeWaiting(env, exec.pipelineName);
}

const modeOf = (env: Env, exec: ExecutionRecord) => exec.pipeline.executionMode ?? env.defaultExecutionMode;

/** Executions of the same pipeline that have entered `stage` and not left it. */
function occupying(env: Env, exec: ExecutionRecord, stage: string): ExecutionRecord[] {
  return [...env.executions.values()].filter(
    (o) =>
      o !== exec &&
      o.pipelineName === exec.pipelineName &&
      (o.status === 'InProgress' || o.status === 'Stopping') &&
      o.stageStatus[stage] === 'InProgress',
  );
}

/**
 * QUEUED and SUPERSEDED let one execution into a stage at a time. An execution reaching an occupied stage
 * waits at its entrance; in SUPERSEDED mode it replaces an older one already waiting there.
 */
function mayEnter(env: Env, exec: ExecutionRecord, stage: string): boolean {
  const mode = modeOf(env, exec);
  if (mode === 'PARALLEL') return true;
  if (mode === 'SUPERSEDED') {
    for (const o of env.executions.values()) {
      const waitingHere =
        o !== exec &&
        o.pipelineName === exec.pipelineName &&
        o.status === 'InProgress' &&
        o.pipeline.stages[o.stageIndex]?.name === stage &&
        o.stageStatus[stage] === undefined &&
        o.startTime <= exec.startTime;
      if (waitingHere) {
        o.status = 'Superseded';
        o.statusSummary = `Superseded by ${exec.pipelineExecutionId}`;
        o.lastUpdateTime = Date.now();
      }
    }
  }
  if (occupying(env, exec, stage).length > 0) return false;
  // QUEUED: an older execution already waiting here goes first.
  return !(
    mode === 'QUEUED' &&
    [...env.executions.values()].some(
      (o) =>
        o !== exec &&
        o.pipelineName === exec.pipelineName &&
        o.status === 'InProgress' &&
        o.pipeline.stages[o.stageIndex]?.name === stage &&
        o.stageStatus[stage] === undefined &&
        o.startTime < exec.startTime,
    )
  );
}

let waking = false;

/** Lets waiting executions of a pipeline move on once a stage they wait for is free, oldest first. */
function wakeWaiting(env: Env, pipelineName: string): void {
  if (waking) return;
  waking = true;
  try {
    for (let moved = true; moved; ) {
      moved = false;
      const waiting = [...env.executions.values()]
        .filter((e) => {
          const stage = e.pipeline.stages[e.stageIndex];
          return (
            e.pipelineName === pipelineName &&
            e.status === 'InProgress' &&
            stage &&
            e.stageStatus[stage.name] === undefined
          );
        })
        .sort((a, b) => a.startTime - b.startTime);
      for (const e of waiting) {
        const before = e.stageIndex;
        const stage = e.pipeline.stages[before]!.name;
        advance(env, e);
        if (e.stageStatus[stage] !== undefined || e.stageIndex !== before) moved = true;
      }
    }
  } finally {
    waking = false;
  }
}

/** Replaces `#{Namespace.Variable}` references; an unknown reference fails the action, as on AWS. */
function resolveVariables(exec: ExecutionRecord, config: Record<string, string>): Record<string, string> {
  const scopes: Record<string, Record<string, string>> = {
    ...exec.variables,
    codepipeline: { PipelineExecutionId: exec.pipelineExecutionId },
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = v.replace(/#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}/g, (_m, ns: string, name: string) => {
      const value = scopes[ns]?.[name];
      if (value === undefined) throw new Error(`Unable to resolve the variable #{${ns}.${name}} in ${k}`);
      return value;
    });
  }
  return out;
}

function startAction(env: Env, exec: ExecutionRecord, stage: StageDeclaration, d: ActionDeclaration): void {
  const now = Date.now();
  const store = storeFor(exec, d.region ?? env.region);
  const rec: ActionExecutionRecord = {
    actionExecutionId: randomUUID(),
    pipelineExecutionId: exec.pipelineExecutionId,
    pipelineVersion: exec.pipelineVersion,
    stageName: stage.name,
    actionName: d.name,
    runOrder: d.runOrder ?? 1,
    status: 'InProgress',
    startTime: now,
    lastUpdateTime: now,
    actionTypeId: d.actionTypeId,
    configuration: d.configuration ?? {},
    resolvedConfiguration: {},
    region: d.region ?? env.region,
    ...(d.namespace ? { namespace: d.namespace } : {}),
    inputArtifacts: (d.inputArtifacts ?? []).map((a) => exec.artifacts[a.name]!).filter(Boolean),
    outputArtifacts: (d.outputArtifacts ?? []).map((a) => ({
      name: a.name,
      bucket: store.location,
      key: artifactKey(exec.pipelineName, a.name),
    })),
  };
  exec.actions.push(rec);
  const fail = (message: string): void => {
    setImmediate(() => completeAction(env, exec, rec, { status: 'Failed', code: 'JobFailed', message }));
  };
  try {
    rec.resolvedConfiguration = resolveVariables(exec, rec.configuration);
  } catch (e) {
    fail((e as Error).message);
    return;
  }
  const type = findActionType(env, d.actionTypeId);
  if (d.actionTypeId.owner === 'Custom' && type && !type.deleted) {
    createJob(env, rec);
    return;
  }
  if (d.actionTypeId.category === 'Source' && type) {
    runBuiltin(env, exec, rec);
    return;
  }
  fail(`The local stack does not run ${d.actionTypeId.owner}/${d.actionTypeId.provider} actions`);
}

function runBuiltin(env: Env, exec: ExecutionRecord, rec: ActionExecutionRecord): void {
  runSourceAction(env, rec, storeFor(exec, rec.region)).then(
    (revision) => completeAction(env, exec, rec, { status: 'Succeeded', revision }),
    (e: Error) => completeAction(env, exec, rec, { status: 'Failed', code: 'JobFailed', message: e.message }),
  );
}

/**
 * After a restart from persisted state: built-in actions that were running start again (their work was in
 * this process); custom actions keep their jobs, which workers can go on polling and answering.
 */
export function resumeExecutions(env: Env): void {
  for (const exec of env.executions.values()) {
    if (exec.status !== 'InProgress') continue;
    for (const rec of exec.actions) {
      if (rec.status === 'InProgress' && rec.actionTypeId.owner !== 'Custom') runBuiltin(env, exec, rec);
    }
  }
}

export type ActionOutcome =
  | { status: 'Succeeded'; outputVariables?: Record<string, string>; revision?: string }
  | { status: 'Failed'; code: string; message: string };

export function completeAction(
  env: Env,
  exec: ExecutionRecord,
  rec: ActionExecutionRecord,
  outcome: ActionOutcome,
): void {
  if (rec.status !== 'InProgress') return;
  rec.status = outcome.status;
  rec.lastUpdateTime = Date.now();
  if (outcome.status === 'Succeeded') {
    for (const out of rec.outputArtifacts) {
      if (outcome.revision) out.revision = outcome.revision;
      exec.artifacts[out.name] = out;
    }
    if (outcome.outputVariables) {
      rec.outputVariables = outcome.outputVariables;
      if (rec.namespace) exec.variables[rec.namespace] = outcome.outputVariables;
    }
  } else {
    rec.errorDetails = { code: outcome.code, message: outcome.message };
  }
  advance(env, exec);
}

export function stopPipelineExecution(
  env: Env,
  input: { pipelineName?: string; pipelineExecutionId?: string; abandon?: boolean; reason?: string },
) {
  const c = new Checker();
  c.string('reason', input.reason, { max: 200 });
  c.throwIfAny();
  const exec = getExecutionRecord(env, input.pipelineName, input.pipelineExecutionId);
  if (exec.status === 'Stopping' && !input.abandon) {
    throw err('DuplicatedStopRequestException', 'The pipeline execution is already in a Stopping state.');
  }
  if (exec.status !== 'InProgress' && exec.status !== 'Stopping') {
    throw err(
      'PipelineExecutionNotStoppableException',
      `Pipeline execution ${exec.pipelineExecutionId} is ${exec.status} and cannot be stopped`,
    );
  }
  if (input.reason) exec.statusSummary = input.reason;
  exec.status = 'Stopping';
  if (input.abandon) {
    // Abandoned actions end now; their jobs can no longer be claimed or answered.
    const now = Date.now();
    for (const rec of exec.actions.filter((a) => a.status === 'InProgress')) {
      rec.status = 'Abandoned';
      rec.lastUpdateTime = now;
    }
    for (const job of env.jobs.values()) {
      if (job.pipelineExecutionId !== exec.pipelineExecutionId) continue;
      if (job.status === 'Queued' || job.status === 'Dispatched' || job.status === 'InProgress') {
        job.status = 'Failed';
        job.finishedAt = now;
      }
    }
  }
  advance(env, exec);
  return { pipelineExecutionId: exec.pipelineExecutionId };
}

export function findAction(env: Env, actionExecutionId: string, pipelineExecutionId: string) {
  const exec = env.executions.get(pipelineExecutionId);
  const rec = exec?.actions.find((a) => a.actionExecutionId === actionExecutionId);
  return exec && rec ? { exec, rec } : undefined;
}

export function getExecutionRecord(env: Env, pipelineName: unknown, id: unknown): ExecutionRecord {
  const c = new Checker();
  c.string('pipelineExecutionId', id, { required: true });
  c.throwIfAny();
  getPipelineRecord(env, pipelineName);
  const exec = env.executions.get(id as string);
  if (!exec || exec.pipelineName !== pipelineName) {
    throw err(
      'PipelineExecutionNotFoundException',
      `Pipeline execution '${id}' was not found in pipeline '${pipelineName}'`,
    );
  }
  return exec;
}
