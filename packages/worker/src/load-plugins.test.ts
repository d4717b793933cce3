import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlugins } from './load-plugins.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));

describe('loadPlugins', () => {
  it('loads an npm package: its default and named plugin exports, each action type once', async () => {
    const plugins = await loadPlugins(['@pipewright/plugin-shell'], { cwd });
    expect(plugins.map((p) => `${p.name} ${p.action?.category}`)).toEqual([
      '@pipewright/plugin-shell Build',
      '@pipewright/plugin-shell Test',
    ]);
  });

  it('loads a module by path, relative to cwd', async () => {
    const plugins = await loadPlugins(['./plugins.mjs'], { cwd: fixtures });
    expect(plugins.map((p) => p.action?.provider)).toEqual([
      'Pw-Proc-Noop',
      'Pw-Proc-Slow',
      'Pw-Proc-Resumable',
      'Pw-Proc-Stray',
    ]);
  });

  it('calls factories that take no arguments when a module exports no plugin', async () => {
    const plugins = await loadPlugins([`${fixtures}factory-plugin.mjs`]);
    expect(plugins.map((p) => p.name)).toEqual(['made-by-factory']);
  });

  it('says clearly when a plugin cannot be found or exports nothing usable', async () => {
    await expect(loadPlugins(['@pipewright/plugin-nope'], { cwd })).rejects.toThrow(
      /cannot load plugin "@pipewright\/plugin-nope": the package is not installed/,
    );
    await expect(loadPlugins(['./missing.mjs'], { cwd: fixtures })).rejects.toThrow(
      /cannot load plugin "\.\/missing\.mjs": not found/,
    );
    await expect(loadPlugins(['./no-plugin.mjs'], { cwd: fixtures })).rejects.toThrow(
      /"\.\/no-plugin\.mjs" exports no pipewright plugin/,
    );
  });
});
