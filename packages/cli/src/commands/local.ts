import type { Command } from 'commander';
import { type CommonOptions, type Io, positiveInt, withCommon } from '../common.js';

interface LocalOptions extends CommonOptions {
  host: string;
  port?: number;
  persistDir?: string;
  randomPorts?: boolean;
}

type Stack = Awaited<ReturnType<typeof import('@pipewright/local')['startLocalStack']>>;

/** What `pipewright local` and `pipewright dev` print: endpoints, then exports for the AWS CLI and SDKs. */
export function describeStack(stack: Stack): { text: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const [name, url] of Object.entries(stack.endpoints)) {
    if (url) env[`AWS_ENDPOINT_URL_${name.toUpperCase()}`] = url;
  }
  env.AWS_REGION = stack.region;
  env.AWS_ACCESS_KEY_ID = stack.credentials.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = stack.credentials.secretAccessKey;
  const lines = [
    'pipewright local stack',
    ...Object.entries(stack.endpoints).map(([name, url]) => `  ${name.padEnd(13)} ${url}`),
    `  region        ${stack.region}`,
    `  account       ${stack.accountId}`,
    `  bucket        ${stack.artifactBucket}`,
    '',
    'Point the AWS CLI or an SDK at it:',
    ...Object.entries(env).map(([k, v]) => `  export ${k}=${v}`),
  ];
  return { text: lines.join('\n'), env };
}

/** Starts the local stack (imported lazily: production paths never load @pipewright/local). */
export async function startStack(options: {
  host?: string;
  region?: string;
  persistDir?: string;
  ports?: 'default' | 'random' | number;
}) {
  const local = await import('@pipewright/local');
  const base = options.ports;
  const ports =
    base === 'random'
      ? {}
      : typeof base === 'number'
        ? { codepipeline: base, s3: base + 1, appconfig: base + 2, lambda: base + 3 }
        : { ...local.DEFAULT_PORTS };
  return local.startLocalStack({
    host: options.host ?? '127.0.0.1',
    ...(options.region ? { region: options.region } : {}),
    ports,
    ...(options.persistDir ? { persistDir: options.persistDir } : {}),
  });
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function localCommand(program: Command, io: Io): void {
  withCommon(
    program
      .command('local')
      .description(
        'run the local AWS stack (CodePipeline, S3, AppConfig, Lambda) in the foreground until Ctrl-C',
      )
      .option('--host <addr>', 'interface to listen on', '127.0.0.1')
      .option(
        '--port <n>',
        'first of four consecutive ports: codepipeline, s3, appconfig, lambda (default 4571)',
        positiveInt('--port', 65532),
      )
      .option('--random-ports', 'let the system pick free ports')
      .option('--region <region>', 'the Region the stack answers as', 'us-east-1')
      .option('--persist-dir <dir>', 'keep state and objects in this folder across restarts')
      .addHelpText(
        'after',
        '\nExample:\n  pipewright local &\n  pipewright register @pipewright/plugin-shell --endpoint http://127.0.0.1:4571',
      ),
    { aws: false },
  ).action(async (options: LocalOptions & { region: string }) => {
    const stack = await startStack({
      host: options.host,
      region: options.region,
      ...(options.persistDir ? { persistDir: options.persistDir } : {}),
      ports: options.randomPorts ? 'random' : (options.port ?? 'default'),
    });
    const { text, env } = describeStack(stack);
    if (options.json) {
      io.out(
        JSON.stringify({
          endpoints: stack.endpoints,
          region: stack.region,
          accountId: stack.accountId,
          artifactBucket: stack.artifactBucket,
          env,
        }),
      );
    } else {
      io.out(`${text}\n\nPress Ctrl-C to stop.`);
    }
    const signal = await untilSignal();
    if (!options.json) io.err(`${signal}: stopping the local stack`);
    await stack.stop();
  });
}
