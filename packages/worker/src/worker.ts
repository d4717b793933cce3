import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActionCategory,
  CodePipelineClient,
  type Job,
  PollForJobsCommand,
} from '@aws-sdk/client-codepipeline';
import { limitYoungGeneration, skipTurbofan } from '@pipewright/artifacts/process-memory';
import { type AnyPlugin, actionProperties } from '@pipewright/core';
import { createLogger, type LogLevel, type Masker } from '@pipewright/runtime';
import { type JobEnvironment, jobInfo, maskingLogger, processJob, RunningJob } from './job.js';
import { reuseSigner } from './reuse-signer.js';
import type { JobInfo, JobReport, Worker, WorkerOptions, WorkerSummary } from './types.js';

/** One action type the worker polls for. */
interface Served {
  key: string;
  plugin: AnyPlugin;
  actionTypeId: { category: ActionCategory; owner: 'Custom'; provider: string; version: string };
  queryParam: Record<string, string> | undefined;
}

const keyOf = (t: { category: string; provider: string; version: string }) =>
  `${t.category}/${t.provider}/${t.version}`;

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

function jitter(ms: number): number {
  return Math.round(ms * (0.5 + Math.random()));
}

function resolveServed(options: WorkerOptions): Served[] {
  const byKey = new Map<string, AnyPlugin>();
  for (const plugin of options.plugins) {
    if (!plugin.action) continue;
    const key = keyOf(plugin.action);
    if (!byKey.has(key)) byKey.set(key, plugin);
  }
  const wanted = options.actionTypes?.map(keyOf) ?? [...byKey.keys()];
  if (wanted.length === 0) {
    throw new Error('the worker has nothing to serve: none of the plugins defines a custom action');
  }
  return wanted.map((key) => {
    const plugin = byKey.get(key);
    if (!plugin) {
      throw new Error(
        `no plugin defines the action type ${key}; the plugins define ${[...byKey.keys()].join(', ') || 'none'}`,
      );
    }
    const action = plugin.action!;
    const queryable = actionProperties(plugin).find((p) => p.queryable);
    let queryParam: Record<string, string> | undefined;
    if (queryable) {
      const value = options.query?.[queryable.name];
      if (value === undefined) {
        throw new Error(
          `the action type ${key} has the queryable property ${queryable.name}: CodePipeline only hands out its jobs to a worker that polls with a value for it (query: { ${queryable.name}: '...' }, --query ${queryable.name}=..., or PIPEWRIGHT_QUERY_${queryable.name})`,
        );
      }
      queryParam = { [queryable.name]: value };
    }
    return {
      key,
      plugin,
      actionTypeId: {
        category: action.category as ActionCategory,
        owner: 'Custom',
        provider: action.provider,
        version: action.version,
      },
      queryParam,
    };
  });
}

const logLevel = () => (process.env.PIPEWRIGHT_LOG_LEVEL as LogLevel | undefined) ?? 'info';
const BASE_FIELDS = { component: 'pipewright-worker' };

/**
 * The job worker: polls CodePipeline for the custom action types of its plugins, claims jobs, runs them
 * with their artifacts, reports results, and hands long jobs on through continuation tokens.
 */
export function createWorker(options: WorkerOptions): Worker {
  if (!['once', 'drain', 'serve'].includes(options.mode)) {
    throw new Error(`mode must be once, drain or serve, got ${String(options.mode)}`);
  }
  const concurrency = options.concurrency ?? 4;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  }
  // Now rather than at the first transfer: a young generation that has grown stays grown (see
  // limitYoungGeneration). A host that loads the SDK before creating the worker can call it earlier still.
  if (options.smallYoungGeneration ?? true) limitYoungGeneration();
  // Before the first job makes anything hot: Turbofan's first compile costs 8-10 MiB (see skipTurbofan).
  if (!options.turbofan) skipTurbofan();
  const { zipThreads } = options;
  if (zipThreads !== undefined && !(Number.isInteger(zipThreads) && zipThreads >= 1 && zipThreads <= 4)) {
    throw new Error(`zipThreads must be an integer from 1 to 4, got ${zipThreads}`);
  }
  const served = resolveServed(options);
  const logger = options.logger ?? createLogger({ level: logLevel(), fields: BASE_FIELDS });
  // The default logger masks after its level check; a logger passed in is wrapped to mask first.
  const jobLogger = options.logger
    ? (fields: Record<string, unknown>, masker: Masker) =>
        maskingLogger(options.logger!.child(fields), masker)
    : (fields: Record<string, unknown>, masker: Masker) =>
        createLogger({ level: logLevel(), fields: { ...BASE_FIELDS, ...fields }, masker });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const stopGraceMs = options.stopGraceMs ?? 30_000;
  const workspaceDir = options.workspaceDir ?? join(tmpdir(), 'pipewright');
  const client = new CodePipelineClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Throttling and 5xx are retried by the SDK's standard strategy: exponential backoff, full jitter.
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 8,
    // The worker adds no middleware after its first call, so each command's handler chain is built once
    // instead of on every send (a measurable share of the CPU a no-op job costs).
    cacheMiddleware: true,
  });
  reuseSigner(client);
  const s3Endpoint = options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3;
  const hooks = options.hooks ?? {};
  const secretsSeen = new Set<string>();
  const env: JobEnvironment = {
    client,
    region: options.region,
    s3Endpoint,
    s3ForcePathStyle: options.s3ForcePathStyle ?? (s3Endpoint ? true : undefined),
    workspaceDir,
    jobTimeoutMs: options.jobTimeoutMs ?? 3_600_000,
    abortGraceMs: options.abortGraceMs ?? 10_000,
    credentialsRefreshMs: options.credentialsRefreshMs ?? 9 * 60_000,
    extractLimits: options.extractLimits,
    smallYoungGeneration: options.smallYoungGeneration ?? true,
    zipThreads,
    logger,
    jobLogger,
    onStarted: (info) => callHook(hooks.onJobStart, info),
    workerCredentials: async () => {
      const c = await client.config.credentials();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    },
    externalExecutionId: options.externalExecutionId,
    onSecret: (value) => {
      if (!hooks.onSecret || secretsSeen.has(value)) return;
      // Remembered only to spare the hook repeats; bounded so a long-serving worker does not grow.
      if (secretsSeen.size >= 10_000) secretsSeen.clear();
      secretsSeen.add(value);
      try {
        hooks.onSecret(value);
      } catch {
        // A hook must not break the worker.
      }
    },
  };

  const running = new Map<string, RunningJob>();
  const reports: JobReport[] = [];
  const pollAbort = new AbortController();
  let stopping = false;
  let stopReason = 'stop requested';
  let immediate = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let started = false;
  let wakeUp: (() => void) | undefined;

  const wake = () => {
    const w = wakeUp;
    wakeUp = undefined;
    w?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = undefined;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const callHook = <A>(fn: ((arg: A) => void) | undefined, arg: A) => {
    try {
      fn?.(arg);
    } catch (error) {
      logger.warn('a worker hook threw', { error: errorMessage(error) });
    }
  };

  let lastPollError = '';
  async function poll(type: Served, maxBatchSize: number): Promise<Job[] | 'error'> {
    try {
      const out = await client.send(
        new PollForJobsCommand({
          actionTypeId: type.actionTypeId,
          maxBatchSize,
          ...(type.queryParam ? { queryParam: type.queryParam } : {}),
        }),
        { abortSignal: pollAbort.signal },
      );
      return out.jobs ?? [];
    } catch (error) {
      if (stopping) return [];
      lastPollError = `${type.key}: ${errorMessage(error)}`;
      logger.warn('PollForJobs failed', { actionType: type.key, error: errorMessage(error) });
      return 'error';
    }
  }

  const pending = new Set<Promise<void>>();
  let lastActivity = Date.now();

  function start(job: Job, type: Served): void {
    const info = jobInfo(job);
    // Secrets are masked before anything can log them.
    const creds = job.data?.artifactCredentials;
    for (const s of [creds?.accessKeyId, creds?.secretAccessKey, creds?.sessionToken]) if (s) env.onSecret(s);
    const config = job.data?.actionConfiguration?.configuration ?? {};
    for (const p of type.plugin.properties) if (p.secret && config[p.name]) env.onSecret(config[p.name]!);
    const job_ = new RunningJob(info, type.plugin);
    running.set(info.jobId, job_);
    lastActivity = Date.now();
    const done = processJob(env, job, job_)
      .catch(
        (error): JobReport => ({ ...info, status: 'failed', message: errorMessage(error), durationMs: 0 }),
      )
      .then((report) => {
        running.delete(info.jobId);
        lastActivity = Date.now();
        reports.push(report);
        if (report.status !== 'skipped') callHook(hooks.onJobEnd, report);
        wake();
        return job_.cleanup;
      });
    pending.add(done);
    void done.finally(() => pending.delete(done));
    if (stopping) abortForStop(job_);
  }

  function abortForStop(job: RunningJob): void {
    if (immediate) job.immediate({ kind: 'stop', reason: stopReason });
  }

  async function run(): Promise<WorkerSummary> {
    if (started) throw new Error('a worker runs once; create another one to run again');
    started = true;
    await mkdir(workspaceDir, { recursive: true });
    logger.info('worker started', {
      mode: options.mode,
      concurrency,
      actionTypes: served.map((s) => s.key),
    });
    let claimed = 0;
    let round = 0;
    let failedRounds = 0;
    try {
      while (!stopping) {
        if (options.maxJobs !== undefined && claimed >= options.maxJobs) break;
        if (running.size >= concurrency) {
          await sleep(pollIntervalMs);
          continue;
        }
        let got = 0;
        let errors = 0;
        for (let i = 0; i < served.length && !stopping; i++) {
          const type = served[(round + i) % served.length]!;
          let slots = concurrency - running.size;
          if (options.maxJobs !== undefined) slots = Math.min(slots, options.maxJobs - claimed);
          if (slots <= 0) break;
          const jobs = await poll(type, slots);
          if (jobs === 'error') {
            errors++;
            continue;
          }
          for (const job of jobs) {
            // A poll that returns after stop(): leave the job unclaimed, CodePipeline offers it again.
            if (stopping) break;
            claimed++;
            got++;
            start(job, type);
          }
        }
        round++;
        if (stopping) break;
        if (got > 0) {
          failedRounds = 0;
          if (options.mode === 'once') break;
          continue;
        }
        if (errors === served.length) {
          failedRounds++;
          if (options.mode !== 'serve' && failedRounds >= 5) {
            throw new Error(
              `PollForJobs failed ${failedRounds} rounds in a row; last error: ${lastPollError}`,
            );
          }
          await sleep(Math.min(30_000, jitter(pollIntervalMs * 2 ** Math.min(failedRounds, 6))));
          continue;
        }
        failedRounds = 0;
        if (options.mode === 'once') break;
        const idleFor = Date.now() - lastActivity;
        if (running.size === 0) {
          if (options.mode === 'drain' && idleFor >= (options.idleTimeoutMs ?? 0)) break;
          if (
            options.mode === 'serve' &&
            options.idleTimeoutMs !== undefined &&
            idleFor >= options.idleTimeoutMs
          ) {
            logger.info('idle timeout reached', { idleTimeoutMs: options.idleTimeoutMs });
            break;
          }
        }
        await sleep(jitter(pollIntervalMs));
      }
    } finally {
      while (pending.size > 0) await Promise.all([...pending]);
      if (graceTimer) clearTimeout(graceTimer);
      client.destroy();
    }
    const summary = summarise();
    logger.info('worker stopped', {
      succeeded: summary.succeeded,
      failed: summary.failed,
      inProgress: summary.inProgress,
      handedOff: summary.handedOff,
      ...(stopping ? { reason: stopReason } : {}),
    });
    return summary;
  }

  function summarise(): WorkerSummary {
    const count = (s: JobReport['status']) => reports.filter((r) => r.status === s).length;
    return {
      succeeded: count('succeeded'),
      failed: count('failed'),
      inProgress: count('in-progress'),
      handedOff: count('handed-off'),
      jobs: reports,
    };
  }

  function stop(reason?: string): void {
    if (stopping) {
      // A second stop: no more grace.
      immediate = true;
      if (graceTimer) clearTimeout(graceTimer);
      logger.warn('stopping now', { reason: reason ?? stopReason, running: running.size });
      for (const job of running.values()) job.immediate({ kind: 'stop', reason: stopReason });
      return;
    }
    stopping = true;
    stopReason = reason ?? stopReason;
    logger.info('stopping', { reason: stopReason, running: running.size, graceMs: stopGraceMs });
    pollAbort.abort();
    wake();
    if (running.size > 0) {
      graceTimer = setTimeout(() => {
        for (const job of running.values()) job.abort({ kind: 'stop', reason: stopReason });
      }, stopGraceMs);
    }
  }

  return {
    run,
    stop,
    get active(): JobInfo[] {
      return [...running.values()].map((r) => r.info);
    },
  };
}
