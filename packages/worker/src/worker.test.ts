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
