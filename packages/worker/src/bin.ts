#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadPlugins } from './load-plugins.js';
import { installSignalHandlers } from './signals.js';
import type { WorkerOptions } from './types.js';
import { createWorker } from './worker.js';

const HELP = `pipewright-worker: serve pipewright plugins as CodePipeline custom actions

usage: pipewright-worker --plugin <npm name or path> [--plugin ...] [options]

  --plugin <spec>            plugin package or module (repeatable)     PIPEWRIGHT_PLUGINS (comma-separated)
  --action-type <C/P/V>      serve only these types (repeatable)       PIPEWRIGHT_ACTION_TYPES
  --mode once|drain|serve    default serve                             PIPEWRIGHT_MODE
  --region <region>          default AWS_REGION                        AWS_REGION
  --endpoint <url>           CodePipeline endpoint                     AWS_ENDPOINT_URL_CODEPIPELINE
  --s3-endpoint <url>        S3 endpoint for artifacts                 AWS_ENDPOINT_URL_S3
  --concurrency <n>          default 4                                 PIPEWRIGHT_CONCURRENCY
  --idle-timeout-ms <ms>     serve: stop when idle this long           PIPEWRIGHT_IDLE_TIMEOUT_MS
  --max-jobs <n>             stop after claiming n jobs                PIPEWRIGHT_MAX_JOBS
  --job-timeout-ms <ms>      default 3600000                           PIPEWRIGHT_JOB_TIMEOUT_MS
  --workspace <dir>          default <tmp>/pipewright                  PIPEWRIGHT_WORKSPACE
  --stop-grace-ms <ms>       default 30000                             PIPEWRIGHT_STOP_GRACE_MS
  --poll-interval-ms <ms>    default 1000                              PIPEWRIGHT_POLL_INTERVAL_MS
  --query <Name=Value>       queryable property value (repeatable)     PIPEWRIGHT_QUERY_<Name>
  --summary                  print the run's summary as JSON on stdout

Logs are JSON lines on stderr (PIPEWRIGHT_LOG_LEVEL=debug|info|warn|error).
SIGTERM/SIGINT stop gracefully; a second signal stops at once.`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plugin: { type: 'string', multiple: true },
      'action-type': { type: 'string', multiple: true },
      mode: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      's3-endpoint': { type: 'string' },
      concurrency: { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'max-jobs': { type: 'string' },
      'job-timeout-ms': { type: 'string' },
      workspace: { type: 'string' },
      'stop-grace-ms': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      query: { type: 'string', multiple: true },
      summary: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const specs = values.plugin?.length ? values.plugin : list(env.PIPEWRIGHT_PLUGINS);
  if (specs.length === 0) throw new Error('no plugin given: pass --plugin <npm name or path> (see --help)');
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('no region: pass --region or set AWS_REGION');
  const mode = (values.mode ?? env.PIPEWRIGHT_MODE ?? 'serve') as WorkerOptions['mode'];
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('PIPEWRIGHT_QUERY_') && v) query[k.slice('PIPEWRIGHT_QUERY_'.length)] = v;
  }
  for (const q of values.query ?? []) {
    const at = q.indexOf('=');
    if (at < 1) throw new Error(`--query takes Name=Value, got "${q}"`);
    query[q.slice(0, at)] = q.slice(at + 1);
  }
  const actionTypes = (
    values['action-type']?.length ? values['action-type'] : list(env.PIPEWRIGHT_ACTION_TYPES)
  ).map((t) => {
    const [category, provider, version] = t.split('/');
    if (!category || !provider || !version)
      throw new Error(`--action-type takes Category/Provider/Version, got "${t}"`);
    return { category, provider, version };
  });
  const opt = (flag: keyof typeof values, variable: string) =>
    int(`--${flag}`, (values[flag] as string) ?? env[variable]);
  const plugins = await loadPlugins(specs);
  const endpoint = values.endpoint ?? env.AWS_ENDPOINT_URL_CODEPIPELINE;
  const s3Endpoint = values['s3-endpoint'] ?? env.AWS_ENDPOINT_URL_S3;
  const workspaceDir = values.workspace ?? env.PIPEWRIGHT_WORKSPACE;
  const numbers = {
    concurrency: opt('concurrency', 'PIPEWRIGHT_CONCURRENCY'),
    idleTimeoutMs: opt('idle-timeout-ms', 'PIPEWRIGHT_IDLE_TIMEOUT_MS'),
    maxJobs: opt('max-jobs', 'PIPEWRIGHT_MAX_JOBS'),
    jobTimeoutMs: opt('job-timeout-ms', 'PIPEWRIGHT_JOB_TIMEOUT_MS'),
    stopGraceMs: opt('stop-grace-ms', 'PIPEWRIGHT_STOP_GRACE_MS'),
    pollIntervalMs: opt('poll-interval-ms', 'PIPEWRIGHT_POLL_INTERVAL_MS'),
  };
  const worker = createWorker({
    plugins,
    region,
    mode,
    ...(actionTypes.length ? { actionTypes } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(s3Endpoint ? { s3Endpoint } : {}),
    ...(workspaceDir ? { workspaceDir } : {}),
    ...(Object.keys(query).length ? { query } : {}),
    ...Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined)),
  });
  const remove = installSignalHandlers(worker);
  // A plugin that throws outside its own promise (a stray timer or event handler) must not take the jobs of
  // every other plugin down with the process: report it, stop gracefully, and let running jobs be answered.
  const onStray = (kind: string) => (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(
      `${JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: kind, error: message })}\n`,
    );
    if (kind === 'uncaught exception') worker.stop('uncaught exception');
  };
  const onException = onStray('uncaught exception');
  const onRejection = onStray('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const summary = await worker.run();
    if (values.summary) {
      const { jobs, ...counts } = summary;
      const used = process.cpuUsage(cpu);
      const timing = {
        elapsedMs: Math.round(performance.now() - started),
        cpuMs: Math.round((used.user + used.system) / 1000),
      };
      process.stdout.write(`${JSON.stringify({ ...counts, ...timing, jobs })}\n`);
    }
    return 0;
  } finally {
    remove();
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pipewright-worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
