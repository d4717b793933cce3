import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { definePlugin, z } from '@pipewright/core';
import { shellBuild } from '@pipewright/plugin-shell';
import { describe, expect, it } from 'vitest';
import { createWorker } from './worker.js';

const queryable = definePlugin({
  name: 'queryable',
  version: '1.0.0',
  description: 'Has a queryable property.',
  config: z.object({ Project: z.string().meta({ queryable: true }) }),
  action: { category: 'Build', provider: 'Pw-Query', version: '1', run() {} },
});

const base = { region: 'us-east-1', mode: 'once' as const };

describe('createWorker options', () => {
  it('needs the value of a queryable property to poll with', () => {
    expect(() => createWorker({ ...base, plugins: [queryable] })).toThrow(
      /queryable property Project: .*--query Project=/,
    );
    expect(() => createWorker({ ...base, plugins: [queryable], query: { Project: 'web' } })).not.toThrow();
  });

  it('refuses action types no plugin defines, and nonsense settings', () => {
    expect(() =>
      createWorker({
        ...base,
        plugins: [shellBuild],
        actionTypes: [{ category: 'Test', provider: 'X', version: '1' }],
      }),
    ).toThrow(/no plugin defines the action type Test\/X\/1; the plugins define Build\/Pipewright-Shell\/1/);
    expect(() => createWorker({ ...base, plugins: [] })).toThrow(/nothing to serve/);
    expect(() => createWorker({ ...base, plugins: [shellBuild], concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createWorker({ ...base, plugins: [shellBuild], mode: 'forever' as never })).toThrow(/mode/);
    expect(() => createWorker({ ...base, plugins: [shellBuild], zipThreads: 8 })).toThrow(
      /zipThreads must be an integer from 1 to 4, got 8/,
    );
    expect(() => createWorker({ ...base, plugins: [shellBuild], zipThreads: 2 })).not.toThrow();
  });
});

// V8's %GetOptimizationStatus bits (src/runtime/runtime.h).
const MAGLEVVED = 1 << 5;
const TURBOFANNED = 1 << 6;
// Where Maglev is on by default (Node 22 and later, x64 and arm64), as skipTurbofan in @pipewright/artifacts.
const maglev = Number(process.versions.node.split('.')[0]) >= 22 && ['x64', 'arm64'].includes(process.arch);

/**
 * A hot function's V8 optimization status in a process that created a worker: a process of its own, as
 * the setting is process-wide. The function runs until Turbofan compiles it, or for 2 s.
 */
function statusAfterCreateWorker(options: object): number {
  const script = `
    const { createWorker } = await import('@pipewright/worker');
    const { shellBuild } = await import('@pipewright/plugin-shell');
    createWorker({ region: 'us-east-1', mode: 'once', plugins: [shellBuild], ...${JSON.stringify(options)} });
    const sum = new Function('a', 'let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s;');
    const statusOf = new Function('f', 'return %GetOptimizationStatus(f)');
    const a = Array.from({ length: 1000 }, (_, i) => i);
    for (const end = Date.now() + 2000; Date.now() < end && !(statusOf(sum) & ${TURBOFANNED}); ) {
      for (let i = 0; i < 1000; i++) sum(a);
    }
    console.log(statusOf(sum));
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  return Number(r.stdout);
}

describe.runIf(maglev)('Turbofan', () => {
  it('is left out of the process by default, and kept with turbofan: true', () => {
    const lean = statusAfterCreateWorker({});
    expect(lean & TURBOFANNED).toBe(0);
    expect(lean & MAGLEVVED).toBe(MAGLEVVED);
    expect(statusAfterCreateWorker({ turbofan: true }) & TURBOFANNED).toBe(TURBOFANNED);
  });
});
