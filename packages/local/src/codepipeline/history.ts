import { findActionType } from './actionTypes.js';
import { type Env, epoch } from './context.js';
import { Checker, err } from './errors.js';
import { getExecutionRecord } from './executions.js';
import type { ActionExecutionRecord, ArtifactRef, ExecutionRecord } from './model.js';
import { getPipelineRecord } from './pipelines.js';

/** Read-only views of executions: GetPipelineExecution, ListPipelineExecutions, GetPipelineState, ListActionExecutions. */

function revisions(exec: ExecutionRecord) {
  return Object.values(exec.artifacts)
    .filter((a) =>
      exec.actions.some(
        (r) =>
          r.stageName === exec.pipeline.stages[0]?.name && r.outputArtifacts.some((o) => o.name === a.name),
      ),
    )
    .map((a) => ({
      name: a.name,
      ...(a.revision ? { revisionId: a.revision } : {}),
      created: epoch(exec.startTime),
    }));
}

export function getPipelineExecution(
  env: Env,
  input: { pipelineName?: string; pipelineExecutionId?: string },
) {
  const exec = getExecutionRecord(env, input.pipelineName, input.pipelineExecutionId);
  return {
    pipelineExecution: {
      pipelineName: exec.pipelineName,
      pipelineVersion: exec.pipelineVersion,
      pipelineExecutionId: exec.pipelineExecutionId,
      status: exec.status,
      ...(exec.statusSummary ? { statusSummary: exec.statusSummary } : {}),
      artifactRevisions: revisions(exec),
      trigger: exec.trigger,
      executionMode: exec.pipeline.executionMode ?? env.defaultExecutionMode,
      executionType: 'STANDARD',
      variables: Object.entries(exec.variables.variables ?? {}).map(([name, resolvedValue]) => ({
        name,
        resolvedValue,
      })),
    },
  };
}

function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, max: number) {
  const start = nextToken === undefined ? 0 : Number(/^n(\d+)$/.exec(nextToken)?.[1] ?? Number.NaN);
  if (Number.isNaN(start) || start > items.length) {
    throw err('InvalidNextTokenException', 'The next token was specified in an invalid format.');
  }
  const size = maxResults ?? max;
  return {
    items: items.slice(start, start + size),
    ...(start + size < items.length ? { nextToken: `n${start + size}` } : {}),
  };
}

export function listPipelineExecutions(
  env: Env,
  input: { pipelineName?: string; maxResults?: number; nextToken?: string },
) {
  const c = new Checker();
  c.integer('maxResults', input.maxResults, { min: 1, max: 100 });
  c.throwIfAny();
  getPipelineRecord(env, input.pipelineName);
  const all = [...env.executions.values()]
    .filter((e) => e.pipelineName === input.pipelineName)
    .sort((a, b) => b.startTime - a.startTime);
  const { items, nextToken } = page(all, input.maxResults, input.nextToken, 100);
  return {
    pipelineExecutionSummaries: items.map((e) => ({
      pipelineExecutionId: e.pipelineExecutionId,
      status: e.status,
      ...(e.statusSummary ? { statusSummary: e.statusSummary } : {}),
      startTime: epoch(e.startTime),
      lastUpdateTime: epoch(e.lastUpdateTime),
      sourceRevisions: revisions(e).map((r) => ({
        actionName: e.pipeline.stages[0]!.actions[0]!.name,
        ...(r.revisionId ? { revisionId: r.revisionId } : {}),
      })),
      trigger: e.trigger,
      executionMode: e.pipeline.executionMode ?? env.defaultExecutionMode,
      executionType: 'STANDARD',
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}

function latestExecution(rec: ActionExecutionRecord) {
  return {
    actionExecutionId: rec.actionExecutionId,
    status: rec.status,
    ...(rec.summary ? { summary: rec.summary } : {}),
    lastStatusChange: epoch(rec.lastUpdateTime),
    ...(rec.externalExecutionId ? { externalExecutionId: rec.externalExecutionId } : {}),
    ...(rec.externalExecutionUrl ? { externalExecutionUrl: rec.externalExecutionUrl } : {}),
    ...(rec.percentComplete !== undefined ? { percentComplete: rec.percentComplete } : {}),
    ...(rec.errorDetails ? { errorDetails: rec.errorDetails } : {}),
  };
}

export function getPipelineState(env: Env, input: { name?: string }) {
  const record = getPipelineRecord(env, input.name);
  const execs = [...env.executions.values()]
    .filter((e) => e.pipelineName === input.name)
    .sort((a, b) => b.startTime - a.startTime);
  return {
    pipelineName: record.pipeline.name,
    pipelineVersion: record.pipeline.version,
    stageStates: record.pipeline.stages.map((stage) => {
      const exec = execs.find((e) => e.stageStatus[stage.name] !== undefined);
      return {
        stageName: stage.name,
        inboundTransitionState: { enabled: true },
        actionStates: stage.actions.map((a) => {
          const rec = execs
            .flatMap((e) => e.actions)
            .filter((r) => r.stageName === stage.name && r.actionName === a.name)
            .sort((x, y) => y.startTime - x.startTime)[0];
          const entity = findActionType(env, a.actionTypeId)?.actionType.settings?.entityUrlTemplate;
          return {
            actionName: a.name,
            ...(rec ? { latestExecution: latestExecution(rec) } : {}),
            ...(entity
              ? {
                  entityUrl: entity.replace(
                    /\{Config:([^}]+)\}/g,
                    (_m, n: string) => a.configuration?.[n] ?? '',
                  ),
                }
              : {}),
          };
        }),
        ...(exec
          ? {
              latestExecution: {
                pipelineExecutionId: exec.pipelineExecutionId,
                status: exec.stageStatus[stage.name],
              },
            }
          : {}),
      };
    }),
    created: epoch(record.created),
    updated: epoch(record.updated),
  };
}

const artifactDetail = (a: ArtifactRef) => ({ name: a.name, s3location: { bucket: a.bucket, key: a.key } });

export function listActionExecutions(
  env: Env,
  input: {
    pipelineName?: string;
    filter?: { pipelineExecutionId?: string };
    maxResults?: number;
    nextToken?: string;
  },
) {
  const c = new Checker();
  c.integer('maxResults', input.maxResults, { min: 1, max: 100 });
  c.throwIfAny();
  getPipelineRecord(env, input.pipelineName);
  const wanted = input.filter?.pipelineExecutionId;
  if (wanted) getExecutionRecord(env, input.pipelineName, wanted);
  const all = [...env.executions.values()]
    .filter((e) => e.pipelineName === input.pipelineName && (!wanted || e.pipelineExecutionId === wanted))
    .flatMap((e) => e.actions)
    .sort((a, b) => b.startTime - a.startTime);
  const { items, nextToken } = page(all, input.maxResults, input.nextToken, 100);
  return {
    actionExecutionDetails: items.map((r) => ({
      pipelineExecutionId: r.pipelineExecutionId,
      actionExecutionId: r.actionExecutionId,
      pipelineVersion: r.pipelineVersion,
      stageName: r.stageName,
      actionName: r.actionName,
      startTime: epoch(r.startTime),
      lastUpdateTime: epoch(r.lastUpdateTime),
      status: r.status,
      input: {
        actionTypeId: r.actionTypeId,
        configuration: r.configuration,
        resolvedConfiguration: r.resolvedConfiguration,
        region: r.region,
        inputArtifacts: r.inputArtifacts.map(artifactDetail),
        ...(r.namespace ? { namespace: r.namespace } : {}),
      },
      output: {
        outputArtifacts: r.status === 'Succeeded' ? r.outputArtifacts.map(artifactDetail) : [],
        executionResult: {
          ...(r.externalExecutionId ? { externalExecutionId: r.externalExecutionId } : {}),
          ...(r.summary ? { externalExecutionSummary: r.summary } : {}),
          ...(r.externalExecutionUrl ? { externalExecutionUrl: r.externalExecutionUrl } : {}),
          ...(r.errorDetails ? { errorDetails: r.errorDetails } : {}),
        },
        ...(r.outputVariables ? { outputVariables: r.outputVariables } : {}),
      },
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}
