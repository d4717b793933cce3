import { mkdir, mkdtemp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { createLogger, Masker } from '@pipewright/runtime';
import { createWorker, installSignalHandlers, type JobInfo, type WorkerSummary } from '@pipewright/worker';
import { createJobLog } from './github-log.js';
import { type InputName, parseSettings, type Settings, SettingsError } from './inputs.js';
import { resolvePlugins } from './plugins.js';
import {
  countsLine,
  executionUrlTemplate,
  externalExecutionId,
  jobOutputs,
  MAX_SUMMARY_ROWS,
  summaryTable,
} from './report.js';
import { STATE } from './state.js';

/** Environment variables that hold AWS credentials (configure-aws-credentials, the SDK's chain, ECS/EKS). */
export function credentialValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(
      ([name, value]) =>
        value &&
        /^AWS_/.test(name) &&
        /(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)/.test(name) &&
        !/_FILE$/.test(name),
    )
    .map(([, value]) => value!.trim())
    .filter((value) => value.length > 0);
}

/** Registers a secret with the runner (which masks it in the log) and with our own masker (outputs, summary). */
export function maskerFor(env: NodeJS.ProcessEnv = process.env): {
  masker: Masker;
  secret(value: string): void;
} {
  const masker = new Masker();
  const secret = (value: string) => {
    if (!value) return;
    core.setSecret(value);
    masker.add(value);
  };
  for (const value of credentialValues(env)) secret(value);
  return { masker, secret };
}

/**
 * How long running jobs may finish after the runner cancels the step. The runner sends SIGINT, then SIGTERM
 * 7.5 s later, then SIGKILL 2.5 s after that: jobs still running after this grace are handed off (or failed)
 * while there is time to tell CodePipeline, and the SIGTERM (a second signal) stops the worker at once.
 */
export const STOP_GRACE_MS = 5_000;

function pluginCacheDir(env: NodeJS.ProcessEnv): string {
  return env.RUNNER_TOOL_CACHE
    ? join(env.RUNNER_TOOL_CACHE, 'pipewright-plugins')
    : join(homedir(), '.cache', 'pipewright', 'plugins');
}

/** The main step: read inputs, load plugins, run the worker, write outputs and the job summary. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<WorkerSummary | undefined> {
  // First of all, before anything can print them.
  const { masker, secret } = maskerFor(env);
  try {
    const settings = readSettings(env);
    if (!settings) return undefined;
    return await work(settings, masker, secret, env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    core.setFailed(masker.mask(message));
    return undefined;
  }
}

function readSettings(env: NodeJS.ProcessEnv): Settings | undefined {
  try {
    return parseSettings({ getInput: (name: InputName) => core.getInput(name), env });
  } catch (error) {
    if (error instanceof SettingsError) {
      core.setFailed(error.message);
      return undefined;
    }
    throw error;
  }
}

async function work(
  settings: Settings,
  masker: Masker,
  secret: (value: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<WorkerSummary> {
  await mkdir(settings.workspace, { recursive: true });
  const workspaceDir = await mkdtemp(join(settings.workspace, 'pipewright-'));
  core.saveState(STATE.workspace, workspaceDir);

  const plugins = await resolvePlugins(settings.plugins, {
    cwd: env.GITHUB_WORKSPACE || process.cwd(),
    cacheDir: pluginCacheDir(env),
    info: (m) => core.info(m),
  });

  const log = createJobLog(masker, { debug: core.isDebug() });
  const logger = createLogger({ sink: log.sink, masker, level: core.isDebug() ? 'debug' : 'info' });
  const active = new Map<string, JobInfo>();
  const saveActive = () => core.saveState(STATE.active, JSON.stringify([...active.values()]));
  const executionId = externalExecutionId(env);

  const worker = createWorker({
    plugins,
    ...(settings.actionTypes ? { actionTypes: settings.actionTypes } : {}),
    ...(settings.query ? { query: settings.query } : {}),
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.s3Endpoint ? { s3Endpoint: settings.s3Endpoint } : {}),
    mode: settings.mode,
    concurrency: settings.concurrency,
    ...(settings.idleTimeoutMs !== undefined ? { idleTimeoutMs: settings.idleTimeoutMs } : {}),
    ...(settings.maxJobs !== undefined ? { maxJobs: settings.maxJobs } : {}),
    ...(settings.jobTimeoutMs !== undefined ? { jobTimeoutMs: settings.jobTimeoutMs } : {}),
    ...(settings.zipThreads !== undefined ? { zipThreads: settings.zipThreads } : {}),
    workspaceDir,
    stopGraceMs: STOP_GRACE_MS,
    logger,
    externalExecutionId: () => executionId,
    hooks: {
      onSecret: secret,
      onJobStart(job) {
        active.set(job.jobId, job);
        saveActive();
        log.jobStarted(job);
      },
      onJobEnd(report) {
        active.delete(report.jobId);
        saveActive();
        log.jobEnded(report);
      },
    },
  });

  const types = settings.actionTypes ?? plugins.flatMap((p) => (p.action ? [p.action] : []));
  core.info(
    `pipewright: ${settings.mode} mode, ${settings.concurrency} at a time, serving ${types
      .map((t) => `${t.category}/${t.provider}/${t.version}`)
      .join(', ')} in ${settings.region}`,
  );

  if (executionId) {
    core.info(
      `pipewright: jobs link to this run as ${executionId} (executionUrlTemplate ${executionUrlTemplate(env)})`,
    );
  }
  const removeSignalHandlers = installSignalHandlers(worker);
  let summary: WorkerSummary;
  try {
    summary = await worker.run();
  } finally {
    removeSignalHandlers();
    log.flushAll();
  }

  const jobs = jobOutputs(summary.jobs, masker);
  core.setOutput('succeeded', summary.succeeded);
  core.setOutput('failed', summary.failed);
  core.setOutput('handed-off', summary.handedOff);
  core.setOutput('jobs', JSON.stringify(jobs));

  for (const job of jobs) {
    if (job.status === 'failed') {
      core.warning(
        `${job.pipelineName} / ${job.stageName} / ${job.actionName} failed: ${job.message ?? ''}`.trim(),
      );
    }
  }
  const counts = countsLine(summary);
  core.info(`pipewright: ${jobs.length} job(s): ${counts}`);

  if (env.GITHUB_STEP_SUMMARY) {
    const out = core.summary
      .addHeading('pipewright job worker', 2)
      .addRaw(jobs.length === 0 ? 'No jobs were waiting.' : `${jobs.length} job(s): ${counts}.`, true);
    if (jobs.length > 0) out.addTable(summaryTable(jobs));
    if (summary.jobs.length > MAX_SUMMARY_ROWS) {
      out.addRaw(`Showing ${MAX_SUMMARY_ROWS} of ${summary.jobs.length} jobs, failed jobs first.`, true);
    }
    await out.write();
  }
  return summary;
}
