import { isAbsolute, resolve } from 'node:path';
import { z } from '@pipewright/core';

/** The inputs action.yml declares, in its order. A test keeps this list and action.yml in step. */
export const INPUT_NAMES = [
  'plugins',
  'action-types',
  'query',
  'region',
  'mode',
  'concurrency',
  'idle-timeout',
  'max-jobs',
  'job-timeout',
  'zip-threads',
  'workspace',
  'endpoint',
  's3-endpoint',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export const MODES = ['once', 'drain', 'serve'] as const;
export type Mode = (typeof MODES)[number];

export interface ActionTypeSelector {
  category: string;
  provider: string;
  version: string;
}

/** Everything the action needs, validated. */
export interface Settings {
  plugins: string[];
  /** Undefined: every action type the plugins define. */
  actionTypes?: ActionTypeSelector[];
  /** Values of queryable configuration properties to poll with, by property name. */
  query?: Record<string, string>;
  region: string;
  mode: Mode;
  concurrency: number;
  idleTimeoutMs?: number;
  maxJobs?: number;
  jobTimeoutMs?: number;
  /** Threads deflating output artifacts; undefined: the worker's default (1). */
  zipThreads?: number;
  /** The folder under which this run creates its own job folder. */
  workspace: string;
  endpoint?: string;
  s3Endpoint?: string;
}

/** Every problem with the inputs, one line each, naming the input and what to do. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `${problems.length === 1 ? 'An input is' : `${problems.length} inputs are`} invalid:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'SettingsError';
  }
}

/** Splits a list input on newlines and commas, trimming and dropping blanks. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** `90` (seconds), `90s`, `1500ms`, `15m`, `1.5h` -> milliseconds; undefined when not a duration. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

// Category, provider and version as CodePipeline allows them (ActionTypeId).
const ACTION_TYPE =
  /^(Source|Build|Deploy|Test|Invoke|Approval|Compute)\/([A-Za-z0-9@\-_]{1,35})\/([0-9A-Za-z_-]{1,9})$/;

const blankToUndefined = (v: string) => (v === '' ? undefined : v);

const durationInput = (name: InputName) =>
  z
    .string()
    .transform(blankToUndefined)
    .pipe(
      z
        .string()
        .transform((v, ctx) => {
          const ms = parseDuration(v);
          if (ms === undefined || ms <= 0 || ms > MAX_DURATION_MS) {
            ctx.addIssue({
              code: 'custom',
              message: `${name}: "${v}" is not a duration. Use seconds (\`300\`) or a number with a unit (\`90s\`, \`15m\`, \`1h\`), more than 0 and at most 7 days.`,
            });
            return z.NEVER;
          }
          return ms;
        })
        .optional(),
    );

const isHttpUrl = (v: string) => {
  try {
    const url = new URL(v);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

const urlInput = (name: InputName) =>
  z.string().transform((v, ctx) => {
    if (v === '') return undefined;
    if (!isHttpUrl(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `${name}: "${v}" is not an http(s) URL. Give the full endpoint, for example \`http://127.0.0.1:4571\`, or leave it empty for AWS.`,
      });
      return z.NEVER;
    }
    return v;
  });

const intInput = (name: InputName, min: number, max: number, hint: string) =>
  z.string().transform((v, ctx) => {
    if (v === '') return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `${name}: "${v}" is not a whole number from ${min} to ${max}. ${hint}`,
      });
      return z.NEVER;
    }
    return n;
  });

const schema = z.object({
  plugins: z
    .string()
    .transform(splitList)
    .refine((list) => list.length > 0, {
      message:
        'plugins: no plugin given. Name at least one npm package or path, for example `@pipewright/plugin-shell`.',
    })
    .refine((list) => new Set(list).size === list.length, {
      message: 'plugins: a plugin is listed twice. Name each plugin once.',
    }),
  'action-types': z.string().transform((v, ctx) => {
    const list = splitList(v);
    if (list.length === 0) return undefined;
    const out: ActionTypeSelector[] = [];
    for (const item of list) {
      const match = ACTION_TYPE.exec(item);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `action-types: "${item}" is not Category/Provider/Version (for example \`Build/Pipewright-Shell/1\`; category one of Source, Build, Deploy, Test, Invoke, Approval, Compute). Leave empty to serve every type the plugins define.`,
        });
        continue;
      }
      out.push({ category: match[1]!, provider: match[2]!, version: match[3]! });
    }
    return out;
  }),
  query: z.string().transform((v, ctx) => {
    const query: Record<string, string> = {};
    for (const item of splitList(v)) {
      const match = /^([A-Za-z0-9_-]{1,50})=([A-Za-z0-9_-]{1,50})$/.exec(item);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `query: "${item}" is not Name=Value (the queryable property's name, then a value of 1 to 50 letters, digits, _ or -), for example \`Fleet=linux-large\`.`,
        });
        continue;
      }
      query[match[1]!] = match[2]!;
    }
    return Object.keys(query).length > 0 ? query : undefined;
  }),
  region: z.string().transform((v, ctx) => {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message:
          v === ''
            ? 'region: no region given and neither AWS_REGION nor AWS_DEFAULT_REGION is set. Set the `region` input or run aws-actions/configure-aws-credentials (with `aws-region`) first.'
            : `region: "${v}" is not an AWS region name such as \`us-east-1\`.`,
      });
      return z.NEVER;
    }
    return v;
  }),
  mode: z.string().transform((v, ctx) => {
    const mode = (v === '' ? 'drain' : v) as Mode;
    if (!MODES.includes(mode)) {
      ctx.addIssue({
        code: 'custom',
        message: `mode: "${v}" is not a mode. Use \`once\`, \`drain\` (the default) or \`serve\`.`,
      });
      return z.NEVER;
    }
    return mode;
  }),
  concurrency: intInput('concurrency', 1, 64, 'It is how many jobs run at once on this runner; default 1.'),
  'idle-timeout': durationInput('idle-timeout'),
  'max-jobs': intInput('max-jobs', 1, 1_000_000, 'Leave it empty for no limit.'),
  'job-timeout': durationInput('job-timeout'),
  'zip-threads': intInput(
    'zip-threads',
    1,
    4,
    'It is how many threads deflate output artifacts; default 1, each more costs about 14 MiB of memory.',
  ),
  workspace: z.string(),
  endpoint: urlInput('endpoint'),
  's3-endpoint': urlInput('s3-endpoint'),
});

export interface ParseOptions {
  /** Reads one input as `core.getInput` does (trimmed, '' when unset). */
  getInput: (name: InputName) => string;
  env?: NodeJS.ProcessEnv;
}

/** Reads every input and returns one settings object, or throws a SettingsError listing every problem. */
export function parseSettings({ getInput, env = process.env }: ParseOptions): Settings {
  const raw = Object.fromEntries(INPUT_NAMES.map((name) => [name, getInput(name).trim()])) as Record<
    InputName,
    string
  >;
  if (raw.plugins === '') raw.plugins = '@pipewright/plugin-shell';
  // PIPEWRIGHT_QUERY_<Name>=<value>, as the worker's command line reads them; the input wins.
  const fromEnv = Object.entries(env)
    .filter(([k, v]) => k.startsWith('PIPEWRIGHT_QUERY_') && v)
    .map(([k, v]) => `${k.slice('PIPEWRIGHT_QUERY_'.length)}=${v!.trim()}`);
  if (fromEnv.length > 0) raw.query = [...fromEnv, ...splitList(raw.query)].join('\n');
  if (raw.region === '') raw.region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || '';

  const result = schema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => issue.message);
  if (raw['idle-timeout'] !== '' && raw.mode === 'once') {
    problems.push(
      'idle-timeout: does not apply in `once` mode (one poll, then stop). Remove idle-timeout or use mode: drain or serve.',
    );
  }
  if (!result.success || problems.length > 0) throw new SettingsError(problems);

  const data = result.data;
  const base = env.GITHUB_WORKSPACE || process.cwd();
  const workspace =
    data.workspace === ''
      ? (env.RUNNER_TEMP ?? resolve(base, '.pipewright'))
      : isAbsolute(data.workspace)
        ? data.workspace
        : resolve(base, data.workspace);

  const settings: Settings = {
    plugins: data.plugins,
    region: data.region,
    mode: data.mode,
    concurrency: data.concurrency ?? 1,
    workspace,
  };
  if (data['action-types']) settings.actionTypes = data['action-types'];
  if (data.query) settings.query = data.query;
  if (data['idle-timeout'] !== undefined) settings.idleTimeoutMs = data['idle-timeout'];
  if (data['max-jobs'] !== undefined) settings.maxJobs = data['max-jobs'];
  if (data['job-timeout'] !== undefined) settings.jobTimeoutMs = data['job-timeout'];
  if (data['zip-threads'] !== undefined) settings.zipThreads = data['zip-threads'];
  if (data.endpoint) settings.endpoint = data.endpoint;
  if (data['s3-endpoint']) settings.s3Endpoint = data['s3-endpoint'];
  return settings;
}
