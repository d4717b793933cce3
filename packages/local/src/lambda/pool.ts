import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RegisteredFunction } from './registry.js';

/** Lambda's error payload. */
export interface LambdaErrorShape {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface InvocationResult {
  requestId: string;
  /** The JSON text the function returned (`null` for `undefined`), or Lambda's error shape as JSON. */
  payload: string;
  /** `Unhandled` when the function failed, as in the `X-Amz-Function-Error` header. */
  functionError?: 'Unhandled';
  /** What the function wrote to stdout/stderr, framed by START/END/REPORT lines like CloudWatch Logs. */
  logs: string;
  durationMs: number;
}

export interface InvokeOptions {
  clientContext?: unknown;
  /** ARN the caller used, for `context.invokedFunctionArn`. */
  invokedFunctionArn?: string;
}

interface Runner {
  child: ChildProcess;
  ready: Promise<void>;
  output: string[];
}

/**
 * Runs invocations in child processes, one invocation per process at a time.
 *
 * Why a warm pool rather than a fork per invocation: a fork of Node costs ~40 ms, and AppConfig deployments call
 * AT_DEPLOYMENT_TICK extensions many times; reusing an idle runner keeps that to a few milliseconds and also
 * reproduces Lambda's warm-start behaviour (module state survives between invocations). A runner that timed out
 * or crashed is killed and never reused, as Lambda resets such a sandbox. `warm: false` forks per invocation.
 */
export class RunnerPool {
  readonly #idle = new Map<string, Runner[]>();
  readonly #busy = new Set<Runner>();
  readonly #runnerPath = runnerModulePath();
  #closed = false;

  constructor(
    private readonly options: {
      region: string;
      warm: boolean;
      maxIdlePerFunction: number;
      baseEnvironment: Record<string, string>;
      onLog?: (functionName: string, text: string) => void;
    },
  ) {}

  async invoke(fn: RegisteredFunction, event: unknown, opts: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.#closed) throw new Error('The local Lambda service is closed');
    const requestId = randomUUID();
    const started = Date.now();
    const runner = this.#take(fn);
    this.#busy.add(runner);
    runner.output.length = 0;
    let reusable = false;
    const finish = (payload: string, functionError?: 'Unhandled'): InvocationResult => {
      const durationMs = Date.now() - started;
      const logs =
        `START RequestId: ${requestId} Version: $LATEST\n${runner.output.join('')}` +
        `END RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\t` +
        `Memory Size: ${fn.memoryMb} MB\n`;
      return { requestId, payload, logs, durationMs, ...(functionError ? { functionError } : {}) };
    };
    try {
      await runner.ready;
      const deadline = started + fn.timeoutMs;
      const outcome = await new Promise<
        { ok: true; payload: string } | { ok: false; error: LambdaErrorShape }
      >((resolve) => {
        const timer = setTimeout(() => {
          resolve({
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`,
            },
          });
        }, fn.timeoutMs);
        const onMessage = (msg: RunnerMessage) => {
          if (msg.type === 'result' && msg.requestId === requestId) {
            cleanup();
            reusable = true;
            resolve(msg.ok ? { ok: true, payload: msg.payload } : { ok: false, error: msg.error });
          } else if (msg.type === 'crash') {
            cleanup();
            resolve({ ok: false, error: msg.error });
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          const oom = runner.output.some((l) => l.includes('heap out of memory'));
          resolve({
            ok: false,
            error: oom
              ? {
                  errorType: 'Runtime.OutOfMemory',
                  errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: ${signal ?? 'killed'}`,
                }
              : {
                  errorType: 'Runtime.ExitError',
                  errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`,
                },
          });
        };
        const cleanup = () => {
          clearTimeout(timer);
          runner.child.off('message', onMessage);
          runner.child.off('exit', onExit);
        };
        runner.child.on('message', onMessage);
        runner.child.on('exit', onExit);
        runner.child.send({
          type: 'invoke',
          requestId,
          event,
          deadline,
          context: {
            functionName: fn.name,
            functionVersion: '$LATEST',
            invokedFunctionArn: opts.invokedFunctionArn ?? fn.arn,
            memoryLimitInMB: fn.memoryMb,
            awsRequestId: requestId,
            logGroupName: `/aws/lambda/${fn.name}`,
            logStreamName: `local/${requestId}`,
            clientContext: opts.clientContext,
          },
        });
      });
      // Output written just before the result travels on another pipe than the IPC message: give it a turn.
      await new Promise((resolve) => setImmediate(resolve));
      if (outcome.ok) return finish(outcome.payload);
      return finish(JSON.stringify(outcome.error), 'Unhandled');
    } catch (err) {
      const error = { errorType: 'Runtime.Unknown', errorMessage: String((err as Error)?.message ?? err) };
      return finish(JSON.stringify(error), 'Unhandled');
    } finally {
      this.#busy.delete(runner);
      this.#release(fn, runner, reusable);
    }
  }

  /** Kills every runner, idle or busy. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#busy, ...[...this.#idle.values()].flat()];
    this.#idle.clear();
    this.#busy.clear();
    await Promise.all(all.map(killRunner));
  }

  #take(fn: RegisteredFunction): Runner {
    const key = poolKey(fn);
    const idle = this.#idle.get(key);
    const runner = idle?.pop();
    if (runner) {
      // Busy runners keep the event loop alive, idle ones must not (see #release).
      runner.child.ref();
      (runner.child.channel as { ref?: () => void } | undefined)?.ref?.();
      return runner;
    }
    return this.#spawn(fn);
  }

  #release(fn: RegisteredFunction, runner: Runner, reusable: boolean): void {
    const list = this.#idle.get(poolKey(fn)) ?? [];
    if (!reusable || !this.options.warm || this.#closed || list.length >= this.options.maxIdlePerFunction) {
      void killRunner(runner);
      return;
    }
    runner.child.unref();
    (runner.child.channel as { unref?: () => void } | undefined)?.unref?.();
    list.push(runner);
    this.#idle.set(poolKey(fn), list);
  }

  #spawn(fn: RegisteredFunction): Runner {
    const child = fork(this.#runnerPath, [fn.modulePath, fn.exportName], {
      cwd: fn.codeRoot,
      execArgv: [`--max-old-space-size=${fn.memoryMb}`],
      // Lambda's own variables, then the stack's (endpoints, credentials), then the function's.
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        AWS_REGION: this.options.region,
        AWS_DEFAULT_REGION: this.options.region,
        AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
        LAMBDA_TASK_ROOT: fn.codeRoot,
        ...this.options.baseEnvironment,
        ...fn.environment,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const runner: Runner = { child, output: [], ready: Promise.resolve() };
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      runner.output.push(text);
      this.options.onLog?.(fn.name, text);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // Output pipes must not keep the parent alive while the runner idles.
    (child.stdout as unknown as { unref?: () => void })?.unref?.();
    (child.stderr as unknown as { unref?: () => void })?.unref?.();
    runner.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (msg: RunnerMessage) => {
        if (msg.type === 'ready') {
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolve();
        }
      };
      const onExit = (code: number | null) =>
        reject(new Error(`Runner exited with ${code} before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', reject);
    });
    return runner;
  }
}

type RunnerMessage =
  | { type: 'ready' }
  | { type: 'result'; requestId: string; ok: true; payload: string }
  | { type: 'result'; requestId: string; ok: false; error: LambdaErrorShape }
  | { type: 'crash'; error: LambdaErrorShape };

/** Re-registering a function (new code or settings) must not reuse runners of the old registration. */
function poolKey(fn: RegisteredFunction): string {
  return `${fn.name}\0${fn.lastModified.getTime()}\0${fn.modulePath}`;
}

function killRunner(runner: Runner): Promise<void> {
  const { child } = runner;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // Idle runners are unref'd; without a ref an awaited stop would let the event loop end before the exit
    // event arrives (Node then quits with "unsettled top-level await").
    child.ref();
    child.kill('SIGKILL');
  });
}

/**
 * The runner is plain ESM JavaScript kept in `src/lambda`. From the compiled `dist/lambda` it is not beside this
 * module (tsc does not copy .mjs files), so fall back to the `src` copy the package also ships.
 */
function runnerModulePath(): string {
  const beside = fileURLToPath(new URL('./runner.mjs', import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL('../../src/lambda/runner.mjs', import.meta.url));
}
