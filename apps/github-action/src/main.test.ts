import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import type { WorkerOptions } from '@pipewright/worker';
import * as worker from '@pipewright/worker';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialValues, run } from './main.js';

vi.mock('@actions/core');
vi.mock('@pipewright/worker', async (original) => ({
  ...(await original<typeof import('@pipewright/worker')>()),
  createWorker: vi.fn(),
  installSignalHandlers: vi.fn(),
}));

const calls: string[] = [];
let inputs: Record<string, string>;
let options: WorkerOptions | undefined;
const removeHandlers = vi.fn();

beforeEach(() => {
  vi.clearAllMocks();
  calls.length = 0;
  options = undefined;
  inputs = { mode: 'drain', concurrency: '2' };
  vi.mocked(core.getInput).mockImplementation((name) => inputs[name] ?? '');
  const record =
    (fn: string) =>
    (...args: unknown[]) => {
      calls.push(`${fn}:${String(args[0])}`);
    };
  vi.mocked(core.setSecret).mockImplementation(record('setSecret'));
  vi.mocked(core.info).mockImplementation(record('info'));
  vi.mocked(core.warning).mockImplementation(record('warning'));
  vi.mocked(core.setFailed).mockImplementation(record('setFailed'));
  vi.mocked(core.setOutput).mockImplementation(record('setOutput'));
  vi.mocked(core.saveState).mockImplementation(record('saveState'));
  vi.mocked(core.startGroup).mockImplementation(record('startGroup'));
  vi.mocked(worker.installSignalHandlers).mockReturnValue(removeHandlers);
  vi.mocked(worker.createWorker).mockImplementation((o) => {
    options = o;
    return {
      active: [],
      stop: vi.fn(),
      async run() {
        const job = {
          jobId: 'j1',
          pipelineName: 'app',
          stageName: 'Build',
          actionName: 'Compile',
          actionType: 'Build/Pipewright-Shell/1',
          continuation: false,
        };
        o.hooks?.onSecret?.('artifact-secret-key');
        o.hooks?.onJobStart?.(job);
        o.logger?.info('compiling with artifact-secret-key', { jobId: 'j1' });
        const report = { ...job, status: 'succeeded' as const, durationMs: 10, summary: 'ok' };
        o.hooks?.onJobEnd?.(report);
        return { succeeded: 1, failed: 0, inProgress: 0, handedOff: 0, jobs: [report] };
      },
    };
  });
});

const env = () => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE01',
  AWS_SECRET_ACCESS_KEY: 'secret/key+example',
  AWS_SESSION_TOKEN: 'session-token-example',
  RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'pw-main-')),
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_RUN_ID: '9',
  GITHUB_RUN_ATTEMPT: '1',
});

describe('run', () => {
  it('masks the environment credentials before anything else is written', async () => {
    await run(env());
    expect(calls.slice(0, 3)).toEqual([
      'setSecret:AKIAEXAMPLEEXAMPLE01',
      'setSecret:secret/key+example',
      'setSecret:session-token-example',
    ]);
    expect(core.setSecret).toHaveBeenCalledWith('artifact-secret-key');
    expect(calls.join('\n')).not.toMatch(/^(info|startGroup|warning):.*artifact-secret-key/m);
  });

  it('passes the settings to the worker and wires hooks, signals and outputs', async () => {
    const e = env();
    const summary = await run(e);
    expect(summary?.succeeded).toBe(1);
    expect(options).toMatchObject({ region: 'eu-west-1', mode: 'drain', concurrency: 2 });
    expect(options?.workspaceDir).toMatch(new RegExp(`^${e.RUNNER_TEMP}/pipewright-`));
    expect(options?.externalExecutionId?.({} as never)).toBe('acme/app/actions/runs/9/attempts/1');
    expect(options?.plugins.map((p) => p.action?.category)).toEqual(['Build', 'Test']);
    expect(worker.installSignalHandlers).toHaveBeenCalledTimes(1);
    expect(removeHandlers).toHaveBeenCalledTimes(1);
    expect(core.setOutput).toHaveBeenCalledWith('succeeded', 1);
    expect(core.setOutput).toHaveBeenCalledWith('handed-off', 0);
    expect(core.saveState).toHaveBeenCalledWith('pipewright-active', '[]');
    expect(core.setFailed).not.toHaveBeenCalled();
  });

  it('fails the step, without starting a worker, on invalid inputs', async () => {
    inputs.mode = 'forever';
    await run(env());
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringMatching(/^An input is invalid:\n {2}- mode: "forever"/),
    );
    expect(worker.createWorker).not.toHaveBeenCalled();
  });

  it('fails the step with a masked message when the worker throws', async () => {
    vi.mocked(worker.createWorker).mockReturnValue({
      active: [],
      stop: vi.fn(),
      run: () => Promise.reject(new Error('denied for session-token-example')),
    });
    await run(env());
    expect(core.setFailed).toHaveBeenCalledWith('denied for ***');
    expect(removeHandlers).toHaveBeenCalled();
  });
});

describe('credentialValues', () => {
  it('takes AWS variables holding keys, secrets and tokens, not the region or file paths', () => {
    expect(
      credentialValues({
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
        AWS_SESSION_TOKEN: 'c',
        AWS_WEB_IDENTITY_TOKEN_FILE: '/x',
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'd',
        OTHER_TOKEN: 'e',
      }),
    ).toEqual(['a', 'b', 'c', 'd']);
  });
});
