import type { ArtifactBackend } from '../artifacts.js';
import type { CredentialStore } from '../credentials.js';
import type { CodePipelineOptions, Env } from './context.js';
import { resumeExecutions } from './executions.js';
import { type CodePipelineState, typeKey } from './model.js';

/** Builds the CodePipeline service state, from a persisted snapshot when there is one. */
export function createCodePipelineEnv(input: {
  options: CodePipelineOptions;
  saved: CodePipelineState | undefined;
  credentials: CredentialStore;
  artifacts: ArtifactBackend;
  artifactBucket: string;
  changed: () => void;
}): Env {
  const saved = input.saved;
  const env: Env = {
    ...input.options,
    actionTypes: new Map((saved?.actionTypes ?? []).map((t) => [typeKey(t.actionType.id), t])),
    pipelines: new Map((saved?.pipelines ?? []).map((p) => [p.pipeline.name, p])),
    executions: new Map((saved?.executions ?? []).map((e) => [e.pipelineExecutionId, e])),
    jobs: new Map((saved?.jobs ?? []).map((j) => [j.id, j])),
    credentials: input.credentials,
    artifacts: input.artifacts,
    artifactBuckets: new Set([input.artifactBucket]),
    changed: input.changed,
  };
  for (const { pipeline } of env.pipelines.values()) {
    for (const store of [pipeline.artifactStore, ...Object.values(pipeline.artifactStores ?? {})]) {
      if (store) env.artifactBuckets.add(store.location);
    }
  }
  resumeExecutions(env);
  return env;
}

export function snapshotCodePipeline(env: Env): CodePipelineState {
  return {
    actionTypes: [...env.actionTypes.values()],
    pipelines: [...env.pipelines.values()],
    executions: [...env.executions.values()],
    jobs: [...env.jobs.values()],
  };
}
