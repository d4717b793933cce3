import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isPathSpec, packageEntry, resolvePlugins, splitPackageSpec } from './plugins.js';

const fixture = resolve(import.meta.dirname, '../test/fixtures/finding-plugin.mjs');
const types = (plugins: { action?: { category: string; provider: string } }[]) =>
  plugins.map((p) => `${p.action?.category}/${p.action?.provider}`);

describe('plugin specs', () => {
  it('tells paths from package names and splits versions', () => {
    expect(['./a.js', '../b', '/abs/c', 'd.mjs'].map(isPathSpec)).toEqual([true, true, true, true]);
    expect(['@pipewright/plugin-shell', 'left-pad'].map(isPathSpec)).toEqual([false, false]);
    expect(splitPackageSpec('@acme/x@^2')).toEqual({ name: '@acme/x', range: '^2' });
    expect(splitPackageSpec('@acme/x')).toEqual({ name: '@acme/x' });
    expect(splitPackageSpec('x@1.2.3')).toEqual({ name: 'x', range: '1.2.3' });
  });

  it('finds a package entry from exports, module or main', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-pkg-'));
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ exports: { '.': { import: './esm/i.js', require: './c.js' } } }),
    );
    expect(await packageEntry(dir)).toBe(join(dir, 'esm/i.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ exports: './e.js' }));
    expect(await packageEntry(dir)).toBe(join(dir, 'e.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'm.js' }));
    expect(await packageEntry(dir)).toBe(join(dir, 'm.js'));
  });
});

describe('resolvePlugins', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'pw-repo-'));

  it('uses the bundled shell plugin and loads paths relative to the checkout', async () => {
    writeFileSync(join(cwd, 'mine.mjs'), `export { default } from ${JSON.stringify(fixture)};\n`);
    const plugins = await resolvePlugins(['@pipewright/plugin-shell', './mine.mjs'], {
      cwd,
      cacheDir: join(cwd, 'cache'),
    });
    expect(types(plugins)).toEqual([
      'Build/Pipewright-Shell',
      'Test/Pipewright-Shell',
      'Test/Pipewright-Findings',
    ]);
  });

  it('installs a package it cannot find into the cache folder, then loads it from there', async () => {
    const cacheDir = join(cwd, 'cache');
    const install = vi.fn(async (packages: string[], prefix: string) => {
      const dir = join(prefix, 'node_modules', '@acme', 'findings');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: '@acme/findings', type: 'module', exports: './index.js' }),
      );
      // Node imports it natively (it is under node_modules), so it stands alone: a plugin-shaped object.
      writeFileSync(
        join(dir, 'index.js'),
        "export default { kind: 'pipewright-plugin', name: '@acme/findings', action: { category: 'Test', provider: 'Acme-Findings', version: '1' } };\n",
      );
      expect(packages).toEqual(['@acme/findings@^1']);
    });
    const info = vi.fn();
    const plugins = await resolvePlugins(['@acme/findings@^1'], { cwd, cacheDir, install, info });
    expect(install).toHaveBeenCalledWith(['@acme/findings@^1'], cacheDir);
    expect(info).toHaveBeenCalledWith(`Installing @acme/findings@^1 into ${cacheDir}`);
    expect(types(plugins)).toEqual(['Test/Acme-Findings']);
    // Next time it is found in the cache: no install.
    install.mockClear();
    await resolvePlugins(['@acme/findings'], { cwd, cacheDir, install });
    expect(install).not.toHaveBeenCalled();
  });

  it('says which path does not exist', async () => {
    await expect(resolvePlugins(['./nope.js'], { cwd, cacheDir: cwd })).rejects.toThrow(
      /^plugins: "\.\/nope\.js" does not exist/,
    );
  });
});
