import type { ExtractLimits } from '@pipewright/artifacts';
import type { AnyPlugin, Logger } from '@pipewright/core';

/** AWS credentials as the SDK takes them (structurally the SDK's own type). */
export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** A function the SDK calls for credentials, refreshing them when they near `expiration`. */
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

export interface ActionTypeSelector {
  category: string;
  provider: string;
  version: string;
}

export interface WorkerHooks {
  onJobStart?(job: JobInfo): void;
  onJobEnd?(report: JobReport): void;
  /** Every credential and secret the worker sees, as soon as it sees it (GitHub: `core.setSecret`). */
  onSecret?(value: string): void;
}

export interface WorkerOptions {
  plugins: AnyPlugin[];
  /** The action types to serve. Default: every custom action the plugins define. */
  actionTypes?: ActionTypeSelector[];
  region: string;
  /** CodePipeline endpoint override (the local stack). */
  endpoint?: string;
  /** S3 endpoint override for artifacts; default AWS_ENDPOINT_URL_S3, else AWS. */
  s3Endpoint?: string;
  /** Path-style S3 addressing. Default: true when an S3 endpoint is set. */
  s3ForcePathStyle?: boolean;
  /** Credentials for the CodePipeline API. Default: the SDK's provider chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** once: one poll round; drain: until the queue is empty and no job runs; serve: until stopped. */
  mode: 'once' | 'drain' | 'serve';
  /** Jobs run at once, over all action types. Default 4. */
  concurrency?: number;
  /** serve: stop after this long without jobs; drain: how long the queue must stay empty. */
  idleTimeoutMs?: number;
  /** Stop claiming after this many jobs. */
  maxJobs?: number;
  /** Abort a job that runs longer. Default 1 hour. */
  jobTimeoutMs?: number;
  /** Where job workspaces go. Default os.tmpdir()/pipewright. */
  workspaceDir?: string;
  /** How long running jobs may finish after stop() before they are handed off or failed. Default 30 s. */
  stopGraceMs?: number;
  /** Time between polls when the queue is empty, with ±50% jitter. Default 1 s. */
  pollIntervalMs?: number;
  /** How long an aborted plugin gets to return before the worker reports without it. Default 10 s. */
  abortGraceMs?: number;
  /** Values of queryable properties to poll with, by property name. */
  query?: Record<string, string>;
  /** Attempts per CodePipeline call, with the SDK's standard retry strategy. Default 8. */
  maxAttempts?: number;
  /** Refresh a job's artifact credentials (GetJobDetails) once they are this old. Default 9 min (they last ~15). */
  credentialsRefreshMs?: number;
  /** Limits for input artifact extraction (zip bombs). */
  extractLimits?: Partial<ExtractLimits>;
  /**
   * Keep V8's young generation at the size it has when the worker is created (process-wide; see
   * limitYoungGeneration in @pipewright/artifacts). Saves 10-60 MiB of RSS per transfer. Default true.
   */
  smallYoungGeneration?: boolean;
  /**
   * Let V8 compile hot functions with Turbofan (process-wide; see skipTurbofan in @pipewright/artifacts).
   * Default false: from `createWorker` on, hot code stays at Maglev's tier on Node 22 and later, 8-10 MiB
   * less RSS with no CPU time lost in the benchmarks. Node 20 is left as it is.
   */
  turbofan?: boolean;
  /**
   * Threads deflating an output artifact's small files, 1-4. Default 1, which keeps pace with `zip -r`; each
   * further thread zips many small files faster on a machine with cores to spare, for about 14 MiB more.
   */
  zipThreads?: number;
  logger?: Logger;
  /** The external execution id to report when the plugin gives none (e.g. the GitHub run). */
  externalExecutionId?: (job: JobInfo) => string | undefined;
  hooks?: WorkerHooks;
}

export interface JobInfo {
  jobId: string;
  pipelineName: string;
  stageName: string;
  actionName: string;
  /** Category/Provider/Version. */
  actionType: string;
  continuation: boolean;
}

export type JobStatus = 'succeeded' | 'in-progress' | 'failed' | 'handed-off' | 'skipped';

export interface JobReport extends JobInfo {
  status: JobStatus;
  summary?: string;
  message?: string;
  durationMs: number;
  externalExecutionId?: string;
}

export interface WorkerSummary {
  succeeded: number;
  failed: number;
  inProgress: number;
  handedOff: number;
  jobs: JobReport[];
}

export interface Worker {
  run(): Promise<WorkerSummary>;
  /** Stop polling and let running jobs finish within the grace period; a second call stops at once. */
  stop(reason?: string): void;
  readonly active: JobInfo[];
}
