import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from './helpers.js';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const FIXTURE_PLUGINS = fileURLToPath(new URL('./fixtures/plugins.mjs', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built worker CLI against the harness's stack. */
export function spawnWorker(h: Harness, args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      BIN,
      '--plugin',
      FIXTURE_PLUGINS,
      '--region',
      h.stack.region,
      '--endpoint',
      h.stack.endpoints.codepipeline,
      '--s3-endpoint',
      h.stack.endpoints.s3,
      '--workspace',
      `${h.tmp}/workspaces`,
      '--summary',
      ...args,
    ],
    {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: h.stack.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: h.stack.credentials.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        PIPEWRIGHT_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const wp: WorkerProcess = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (d) => {
    wp.stdout += d;
  });
  child.stderr!.on('data', (d) => {
    wp.stderr += d;
  });
  return wp;
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
