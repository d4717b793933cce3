import { spawn } from 'node:child_process';
import type { Exec, ExecOptions, ExecResult, Logger } from '@pipewright/core';
import { toolEnvironment } from './env.js';
import type { Masker } from './masker.js';

const CAPTURE_LIMIT = 4 * 1024 * 1024;
/** Time between SIGTERM and SIGKILL when a tool is stopped. */
const KILL_GRACE_MS = 5_000;

export interface ExecFactoryOptions {
  logger: Logger;
  masker: Masker;
  signal: AbortSignal;
  /** Default working directory (the job's input artifact or workspace); a function is asked at each run. */
  cwd: string | (() => string);
  /** Variables every tool of this job gets (for example credentials the plugin asked for). */
  env?: Record<string, string | undefined>;
  /** The environment tools inherit from, minus credentials. Default process.env. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** Sends a signal to a whole process group; the tool runs in its own group so grandchildren die too. */
function killTree(pid: number | undefined, signal: NodeJS.Signals, groupOnly = false): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    if (groupOnly) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split(/\r?\n/);
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
    // A tool that prints megabytes without a newline must not grow this buffer forever.
    if (this.rest.length > 64 * 1024) {
      this.onLine(this.rest);
      this.rest = '';
    }
  }
  end(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

/** Builds the `exec` a plugin gets in its context. */
export function createExec(options: ExecFactoryOptions): Exec {
  return (command: string, args: readonly string[] = [], execOptions: ExecOptions = {}) =>
    run(command, args, execOptions, options);
}

function run(
  command: string,
  args: readonly string[],
  o: ExecOptions,
  f: ExecFactoryOptions,
): Promise<ExecResult> {
  const started = performance.now();
  const tailLines = o.tailLines ?? 50;
  const tail: string[] = [];
  const captured = { stdout: '', stderr: '' };
  let truncated = false;
  let timedOut = false;
  let aborted = false;
  const log = f.logger.child({ tool: o.shell ? command.split(/\s+/)[0] : command });

  return new Promise<ExecResult>((resolve, reject) => {
    if (f.signal.aborted) {
      reject(new Error(`not starting ${command}: the job was stopped`));
      return;
    }
    const child = spawn(command, o.shell ? [] : [...args], {
      cwd: o.cwd ?? (typeof f.cwd === 'function' ? f.cwd() : f.cwd),
      env: toolEnvironment(f.baseEnv ?? process.env, { ...f.env, ...o.env }),
      shell: o.shell ? '/bin/sh' : false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killTree(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killTree(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const onAbort = () => {
      aborted = true;
      stop();
    };
    f.signal.addEventListener('abort', onAbort, { once: true });
    const timeout =
      o.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            log.warn(`timed out after ${o.timeoutMs} ms; stopping the process tree`);
            stop();
          }, o.timeoutMs)
        : undefined;

    for (const stream of ['stdout', 'stderr'] as const) {
      const splitter = new LineSplitter((raw) => {
        const line = f.masker.mask(raw);
        tail.push(line);
        if (tail.length > tailLines) tail.shift();
        if (captured[stream].length + line.length < CAPTURE_LIMIT) captured[stream] += `${line}\n`;
        else truncated = true;
        if (o.onLine) o.onLine(line, stream);
        else log.info(line, { stream });
      });
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => splitter.push(chunk));
      child[stream].on('end', () => splitter.end());
    }
    child.stdin.on('error', () => {
      // A tool that exits without reading its input closes the pipe early; that is not our failure.
    });
    if (o.input !== undefined) child.stdin.end(o.input);
    else child.stdin.end();

    child.on('error', (error) => {
      cleanup();
      const hint =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is it installed and on PATH?)' : '';
      reject(new Error(`could not start ${command}: ${error.message}${hint}`));
    });
    child.on('close', (exitCode, signal) => {
      cleanup();
      resolve({
        exitCode,
        signal,
        tail,
        stdout: captured.stdout,
        stderr: captured.stderr,
        truncated,
        timedOut,
        aborted,
        durationMs: Math.round(performance.now() - started),
      });
    });
    function cleanup() {
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      f.signal.removeEventListener('abort', onAbort);
      // The leader is gone; make sure nothing it started lives on.
      killTree(child.pid, 'SIGKILL', true);
    }
  });
}
