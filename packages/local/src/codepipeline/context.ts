import type { ArtifactBackend } from '../artifacts.js';
import type { CredentialStore } from '../credentials.js';
import type { ActionTypeRecord, ExecutionRecord, JobRecord, PipelineRecord } from './model.js';

export interface JobTimeouts {
  /** A polled job that is not acknowledged within this time is handed out again with a new nonce. */
  redispatchMs: number;
  /** A job nobody acknowledges within this time (from its creation) fails its action as TimedOut. */
  unacknowledgedMs: number;
  /** An acknowledged job with no result within this time fails its action as TimedOut. */
  inProgressMs: number;
}

export interface CodePipelineOptions {
  region: string;
  accountId: string;
  jobTimeouts: JobTimeouts;
  /** AWS's default quota is 50 custom action types per Region and account. */
  maxCustomActionTypes: number;
  /** Execution mode of pipelines that do not declare one (AWS's default is SUPERSEDED). */
  defaultExecutionMode: 'PARALLEL' | 'QUEUED' | 'SUPERSEDED';
}

/** Everything the operation modules share: the state maps, the artifact store, the local STS. */
export interface Env extends CodePipelineOptions {
  actionTypes: Map<string, ActionTypeRecord>;
  pipelines: Map<string, PipelineRecord>;
  executions: Map<string, ExecutionRecord>;
  jobs: Map<string, JobRecord>;
  credentials: CredentialStore;
  artifacts: ArtifactBackend;
  /** Buckets used as artifact stores; the local S3 applies CodePipeline's SSE-KMS bucket policy to them. */
  artifactBuckets: Set<string>;
  changed(): void;
}

export const epoch = (ms: number) => ms / 1000;
export const pipelineArn = (env: Env, name: string) =>
  `arn:aws:codepipeline:${env.region}:${env.accountId}:${name}`;
