import type { WorkerSummary } from '@pipewright/worker';
import type { Command } from 'commander';
import {
  type CommonOptions,
  collect,
  duration,
  humanLogger,
  type Io,
  positiveInt,
  resolveRegion,
  withCommon,
} from '../common.js';
import { CliError, UsageError } from '../errors.js';
import { loadPlugins, withActions } from '../load-plugins.js';

interface WorkerCliOptions extends CommonOptions {
  s3Endpoint?: string;
  mode: 'once' | 'drain' | 'serve';
  concurrency: number;
  idleTimeout?: number;
  maxJobs?: number;
  jobTimeout?: number;
  zipThreads?: number;
  workspace?: string;
  actionType?: string[];
  query?: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export function summaryLine(s: WorkerSummary): string {
  return `${s.jobs.length} job(s): ${s.succeeded} succeeded, ${s.failed} failed, ${s.inProgress} in progress, ${s.handedOff} handed off`;
}

export function workerCommand(program: Command, io: Io): void {
  withCommon(
    program
      .command('worker')
      .description(
        'run the CodePipeline job worker for these plugins (any host or container; the GitHub Action runs the same)',
      )
      .argument('<plugin...>', 'npm package names or module paths (module#exportName picks one export)')
      .option('--s3-endpoint <url>', 'S3 endpoint for artifacts (default: AWS_ENDPOINT_URL_S3, else AWS)')
      .option(
        '--mode <mode>',
        'once: one poll round; drain: until the queue is empty; serve: until stopped',
        'drain',
      )
      .option('--concurrency <n>', 'jobs at the same time', positiveInt('--concurrency', 64), 1)
      .option(
        '--idle-timeout <duration>',
        'serve: stop after this long without jobs; drain: how long the queue must stay empty',
        duration('--idle-timeout'),
      )
      .option('--max-jobs <n>', 'stop after this many jobs', positiveInt('--max-jobs'))
      .option(
        '--job-timeout <duration>',
        'abort a job that runs longer (it is handed off when its plugin can resume)',
        duration('--job-timeout'),
      )
      .option(
        '--zip-threads <n>',
        'threads deflating output artifacts, 1-4 (default 1; each more costs about 14 MiB)',
        positiveInt('--zip-threads', 4),
      )
      .option('--workspace <dir>', 'where job folders go (default: the system temp folder)')
      .option(
        '--action-type <Category/Provider/Version>',
        'serve only this action type; repeat for several',
        collect,
        [],
      )
      .option('--query <K=V>', 'value of a queryable property to poll with', collect, [])
      .option('--log-level <level>', 'debug, info, warn or error', 'info')
      .addHelpText(
        'after',
        '\nSIGINT/SIGTERM stop it gracefully (running jobs finish or are handed off); a second signal stops at once.\nExit code: 0 when every job succeeded, 1 when one failed.\n\nExample:\n  pipewright worker @pipewright/plugin-shell --mode serve --concurrency 4 --region eu-west-1',
      ),
  ).action(async (specs: string[], options: WorkerCliOptions) => {
    // Before the plugins and the AWS SDK load: loading grows V8's young generation, and it stays grown
    // (the worker's smallYoungGeneration, on by default, would apply it only once created).
    const { limitYoungGeneration, skipTurbofan } = await import('@pipewright/artifacts/process-memory');
    limitYoungGeneration();
    skipTurbofan();
    if (!['once', 'drain', 'serve'].includes(options.mode)) {
      throw new UsageError(`--mode ${options.mode} is not once, drain or serve`);
    }
    if (!['debug', 'info', 'warn', 'error'].includes(options.logLevel)) {
      throw new UsageError(`--log-level ${options.logLevel} is not debug, info, warn or error`);
    }
    const plugins = withActions(await loadPlugins(specs, io.cwd));
    const actionTypes = (options.actionType ?? []).map((t) => {
      const [category, provider, version, ...rest] = t.split('/');
      if (!category || !provider || !version || rest.length > 0) {
        throw new UsageError(
          `--action-type ${t} is not Category/Provider/Version`,
          'e.g. --action-type Build/Pipewright-Shell/1',
        );
      }
      return { category, provider, version };
    });
    const query = Object.fromEntries(
      (options.query ?? []).map((q) => q.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    const endpoint = options.endpoint ?? io.env.AWS_ENDPOINT_URL_CODEPIPELINE ?? io.env.AWS_ENDPOINT_URL;
    const s3Endpoint = options.s3Endpoint ?? io.env.AWS_ENDPOINT_URL_S3;
    const { createWorker, installSignalHandlers } = await import('@pipewright/worker');
    let worker: ReturnType<typeof createWorker>;
    try {
      worker = createWorker({
        plugins,
        region: resolveRegion(options, io.env),
        ...(endpoint ? { endpoint } : {}),
        ...(s3Endpoint ? { s3Endpoint } : {}),
        mode: options.mode,
        concurrency: options.concurrency,
        ...(options.idleTimeout !== undefined ? { idleTimeoutMs: options.idleTimeout } : {}),
        ...(options.maxJobs !== undefined ? { maxJobs: options.maxJobs } : {}),
        ...(options.jobTimeout !== undefined ? { jobTimeoutMs: options.jobTimeout } : {}),
        ...(options.zipThreads !== undefined ? { zipThreads: options.zipThreads } : {}),
        ...(options.workspace ? { workspaceDir: options.workspace } : {}),
        ...(actionTypes.length > 0 ? { actionTypes } : {}),
        ...(Object.keys(query).length > 0 ? { query } : {}),
        ...(options.json ? {} : { logger: humanLogger(io, options.logLevel) }),
      });
    } catch (error) {
      throw new CliError(
        `cannot start the worker: ${(error as Error).message}`,
        'check the options against `pipewright worker --help`',
        2,
      );
    }
    const remove = installSignalHandlers(worker);
    try {
      const summary = await worker.run();
      if (options.json) io.out(JSON.stringify(summary, null, 2));
      else io.out(summaryLine(summary));
      if (summary.failed > 0) process.exitCode = 1;
    } finally {
      remove();
    }
  });
}
