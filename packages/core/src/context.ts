import type { JsonValue } from './json.js';

/** A logger scoped to one plugin and one job or invocation. Fields are structured, never interpolated. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface ExecOptions {
  cwd?: string;
  /** Added to the tool's environment (which never holds AWS credentials unless the plugin asked for them). */
  env?: Record<string, string | undefined>;
  /** Kill the whole process tree after this many milliseconds. */
  timeoutMs?: number;
  /** Run through `/bin/sh -c` (the command is then one string). Default false. */
  shell?: boolean;
  /** Written to the tool's stdin, which is closed afterwards. */
  input?: string | Uint8Array;
  /** Called for every line of output, already masked. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many of the last output lines to keep in `tail`. Default 50. */
  tailLines?: number;
}

export interface ExecResult {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: string | null;
  /** The last lines of stdout and stderr interleaved, masked. */
  tail: string[];
  /** Whole stdout and stderr, masked; capped at a few MiB each (`truncated` says when). */
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/** Runs the wrapped tool: output streamed to the logger, secrets masked, the process tree killed on abort. */
export type Exec = (command: string, args?: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** Where the job sits in its pipeline. */
export interface PipelineContext {
  jobId: string;
  accountId: string | undefined;
  pipelineName: string;
  stageName: string;
  actionName: string;
  actionExecutionId: string | undefined;
  pipelineExecutionId: string | undefined;
  pipelineArn: string | undefined;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a custom action's `run` receives. No globals: everything the plugin may touch is here. */
export interface JobContext<C> {
  /** The action configuration, validated and typed by the plugin's schema. */
  config: C;
  /**
   * Input artifacts by name, each extracted into its own folder. The folders are the job's, removed when it
   * ends: a plugin may change them, or move them (as the shell plugin moves the output folder it collects).
   */
  inputs: Readonly<Record<string, string>>;
  /** The first input artifact's folder (most actions have one). */
  input: string | undefined;
  /** Output artifacts by name: folders whose contents become the artifacts. */
  outputs: Readonly<Record<string, string>>;
  /** The first output artifact's folder. */
  output: string | undefined;
  /** A scratch folder for this job, removed afterwards (the worker creates it when it is first read). */
  workspace: string;
  logger: Logger;
  exec: Exec;
  /** Aborted on timeout, on cancellation and when the worker stops. */
  signal: AbortSignal;
  /** The state an earlier step returned with `inProgress`, when this job continues one. */
  continuation: JsonValue | undefined;
  /**
   * Remember progress: when the worker must stop while this job runs, a resumable action is handed off with
   * the last checkpoint as its continuation state instead of failing.
   */
  checkpoint(state: JsonValue): void;
  pipeline: PipelineContext;
  /** Mask a value in every log, summary and result from now on. */
  mask(secret: string): void;
  /** Present only when the action declares `credentials`. */
  awsCredentials: AwsCredentials | undefined;
}

/** What an extension handler receives besides the event. */
export interface ExtensionContext<C> {
  /** The extension parameters (association and dynamic ones), validated and typed by the plugin's schema. */
  params: C;
  logger: Logger;
  signal: AbortSignal;
  mask(secret: string): void;
}
