import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** The options every command takes. */
export interface CommonOptions {
  region?: string;
  endpoint?: string;
  json?: boolean;
  debug?: boolean;
  /** Not a flag: `pipewright dev` hands the local stack's credentials to the commands it runs in-process. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where the CLI writes: stdout for results, stderr for progress, warnings and errors. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): Io => ({
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  cwd: process.cwd(),
  env: process.env,
});

export function withCommon(cmd: Command, what: { aws?: boolean } = { aws: true }): Command {
  if (what.aws !== false) {
    cmd
      .option('--region <region>', 'AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)')
      .option(
        '--endpoint <url>',
        'endpoint URL for every AWS service, e.g. the local stack http://127.0.0.1:4566',
      );
  }
  return cmd
    .option('--json', 'print the result as JSON on stdout')
    .option('--debug', 'print stack traces and AWS request details on errors');
}

export function resolveRegion(options: CommonOptions, env: NodeJS.ProcessEnv): string {
  return options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/** The configuration an AWS SDK v3 client takes: the same for AWS and the local stack but the endpoint. */
export function clientConfig(options: CommonOptions, env: NodeJS.ProcessEnv) {
  const endpoint = options.endpoint ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) {
    throw new UsageError(`--endpoint ${endpoint} is not a URL`, 'write it as http://host:port');
  }
  return {
    region: resolveRegion(options, env),
    ...(endpoint ? { endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
  };
}

/**
 * Runs a slow step, saying so on stderr only when it takes longer than a second (and once it ends).
 * JSON mode keeps stderr quiet as well, except for errors.
 */
export async function step<T>(
  io: Io,
  options: CommonOptions,
  label: string,
  work: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let shown = false;
  const timer = setTimeout(() => {
    shown = true;
    if (!options.json) io.err(`… ${label}`);
  }, 1000);
  try {
    const result = await work();
    if (shown && !options.json) io.err(`✓ ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a repeatable option into a list. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Parses repeated K=V options into a record; a K without = is a usage error. */
export function keyValues(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} ${pair} is not K=V`, `write it as ${flag} Name=Value`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}

export function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new UsageError(`${flag} ${value} is not a whole number from 1 to ${max}`);
    }
    return n;
  };
}

/** Seconds, or a number with a unit: 1500ms, 90s, 15m, 2h. */
export function duration(flag: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (!m)
      throw new UsageError(
        `${flag} ${value} is not a duration`,
        'write seconds (90) or a number with a unit: 1500ms, 90s, 15m, 2h',
      );
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
    return Math.round(Number(m[1]) * unit);
  };
}

/** Fields every job log line carries; the human format shows them once, as `stage/action`. */
const CONTEXT_FIELDS = new Set([
  'component',
  'jobId',
  'pipeline',
  'stage',
  'action',
  'actionType',
  'plugin',
  'tool',
  'stream',
  'continuation',
]);

/**
 * A Logger (the core interface) for people, on stderr: `12:00:01 info  Build/Compile  message key=value`, and
 * a wrapped tool's output as `12:00:01       web/Build/Compile │ line`.
 */
export function humanLogger(
  io: Io,
  minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info',
  base: Record<string, unknown> = {},
) {
  const order = { debug: 10, info: 20, warn: 30, error: 40 } as const;
  const show = (v: unknown) =>
    typeof v === 'string'
      ? /\s/.test(v)
        ? JSON.stringify(v)
        : v
      : JSON.stringify(v instanceof Error ? v.message : v);
  const emit = (level: keyof typeof order) => (msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < order[minLevel]) return;
    const all: Record<string, unknown> = { ...base, ...fields };
    const time = new Date().toISOString().slice(11, 19);
    const where = all.stage
      ? [all.pipeline, all.stage, all.action].filter(Boolean).map(String).join('/')
      : '';
    if (all.stream) {
      io.err(`${time} ${level === 'info' ? '     ' : level.padEnd(5)} ${where} │ ${msg}`);
      return;
    }
    const extra = Object.entries(all)
      .filter(
        ([k, v]) => v !== undefined && (!CONTEXT_FIELDS.has(k) || (k === 'jobId' && msg === 'job started')),
      )
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(' ');
    io.err(`${time} ${level.padEnd(5)} ${where ? `${where}  ` : ''}${msg}${extra ? `  ${extra}` : ''}`);
  };
  const logger = {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields: Record<string, unknown>) => humanLogger(io, minLevel, { ...base, ...fields }),
  };
  return logger;
}
