import { cp, lstat, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import {
  type ActionResult,
  definePlugin,
  failed,
  type JobContext,
  type Plugin,
  succeeded,
  z,
} from '@pipewright/core';

/** The npm package name; every shell action type, whatever its category, comes from this one package. */
export const PACKAGE_NAME = '@pipewright/plugin-shell';
const VERSION = '0.1.0';
/** How many of the last output lines go into the summary (CodePipeline shows 2048 characters at most). */
const SUMMARY_LINES = 20;

const relativePath = (what: string) =>
  z
    .string()
    .max(1000)
    .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), {
      message: `${what} must be a relative path that stays inside the artifact (no leading / and no ..)`,
    });

export const shellConfig = z.object({
  Command: z.string().min(1).max(1000).meta({
    description:
      'The command line to run, passed to the shell with -c. A non-zero exit code fails the action.',
  }),
  WorkingDirectory: relativePath('WorkingDirectory').optional().meta({
    description: 'Folder to run in, relative to the first input artifact. Default: the artifact root.',
  }),
  OutputDirectory: relativePath('OutputDirectory').optional().meta({
    description:
      'Folder collected as the output artifact, relative to the working directory. Default: the working directory.',
  }),
  TimeoutSeconds: z.number().int().positive().max(86_400).optional().meta({
    description: 'Kill the command (and everything it started) after this many seconds.',
  }),
  Shell: z.string().min(1).max(200).default('/bin/sh').meta({
    description: 'The shell that runs Command, for example /bin/bash.',
  }),
});

export type ShellConfig = z.output<typeof shellConfig>;

/** The categories a shell action makes sense in. CodePipeline needs one action type per category. */
export type ShellCategory = 'Build' | 'Test' | 'Deploy' | 'Invoke';

export interface ShellPluginOptions {
  /** Default Build. */
  category?: ShellCategory;
  /** Default Pipewright-Shell. */
  provider?: string;
  /** Default 1. */
  version?: string;
}

function inside(root: string, rel: string | undefined): string {
  return rel ? join(root, rel) : root;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Makes the folder the command left the output artifact's: the artifact is that folder as it is, links as
 * links and modes as modes. The job's folders are its own and go when it ends, so the folder is moved, one
 * rename, when it can be: a real folder (not a link to one), an output folder still empty, the same file
 * system. Copying instead took a minute for 20,000 files (256 MiB) on a small VM, most of the job. Anything
 * else is copied.
 */
async function collect(from: string, to: string): Promise<void> {
  if ((await lstat(from)).isDirectory() && (await isEmptyOrMissing(to))) {
    try {
      await rename(from, to);
      return;
    } catch {
      // Another file system, or `to` inside `from`: copy.
    }
  }
  await mkdir(to, { recursive: true });
  await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function lastLines(tail: readonly string[]): string {
  return tail
    .slice(-SUMMARY_LINES)
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}

async function runShell(ctx: JobContext<ShellConfig>): Promise<ActionResult> {
  const { config } = ctx;
  const root = ctx.input ?? ctx.workspace;
  const cwd = inside(root, config.WorkingDirectory);
  if (!(await isDirectory(cwd))) {
    return failed(`WorkingDirectory ${config.WorkingDirectory} does not exist in the input artifact`, {
      failureType: 'ConfigurationError',
    });
  }
  const p = ctx.pipeline;
  const env: Record<string, string | undefined> = {
    PIPEWRIGHT_PIPELINE: p.pipelineName,
    PIPEWRIGHT_STAGE: p.stageName,
    PIPEWRIGHT_ACTION: p.actionName,
    PIPEWRIGHT_JOB_ID: p.jobId,
    PIPEWRIGHT_EXECUTION_ID: p.pipelineExecutionId,
    PIPEWRIGHT_INPUT: ctx.input,
    PIPEWRIGHT_OUTPUT: ctx.output,
    PIPEWRIGHT_WORKSPACE: ctx.workspace,
  };
  for (const [name, dir] of Object.entries(ctx.inputs)) env[`PIPEWRIGHT_INPUT_${name}`] = dir;
  const result = await ctx.exec(config.Shell, ['-c', config.Command], {
    cwd,
    env,
    ...(config.TimeoutSeconds === undefined ? {} : { timeoutMs: config.TimeoutSeconds * 1000 }),
  });
  const output = lastLines(result.tail);
  const shown = output ? `\n${output}` : '';
  if (result.timedOut) {
    return failed(`the command timed out after ${config.TimeoutSeconds} s and was killed${shown}`);
  }
  if (result.aborted) {
    return failed(`the command was stopped before it finished${shown}`);
  }
  if (result.exitCode !== 0) {
    const how =
      result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    return failed(`the command ${how}${shown}`);
  }
  if (ctx.output) {
    const from = inside(cwd, config.OutputDirectory);
    if (!(await isDirectory(from))) {
      return failed(
        `OutputDirectory ${config.OutputDirectory} does not exist after the command ran; nothing to collect`,
      );
    }
    await collect(from, ctx.output);
  }
  const ms = result.durationMs;
  const took = ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  return succeeded({
    summary: output ? `succeeded in ${took}\n${output}` : `succeeded in ${took}`,
    outputVariables: { ExitCode: '0', DurationMs: String(Math.round(result.durationMs)) },
  });
}

/**
 * A shell action for one category. CodePipeline identifies an action type by category, provider and
 * version, so running shell commands in a Build and a Test stage takes two action types: one plugin each.
 */
export function shellPlugin(options: ShellPluginOptions = {}): Plugin<typeof shellConfig> {
  const category = options.category ?? 'Build';
  return definePlugin({
    name: PACKAGE_NAME,
    version: VERSION,
    description: `Runs a shell command in the input artifact as a CodePipeline ${category} action.`,
    config: shellConfig,
    action: {
      category,
      provider: options.provider ?? 'Pipewright-Shell',
      version: options.version ?? '1',
      inputArtifacts: { minimum: 0, maximum: 5 },
      outputArtifacts: { minimum: 0, maximum: 1 },
      run: runShell,
    },
  });
}

/** Pipewright-Shell in the Build category. */
export const shellBuild = shellPlugin({ category: 'Build' });
/** Pipewright-Shell in the Test category. */
export const shellTest = shellPlugin({ category: 'Test' });

export default shellBuild;
