import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AnyPlugin, isPlugin } from '@pipewright/core';
import * as shell from '@pipewright/plugin-shell';
import { loadPlugins } from '@pipewright/worker';

/** Plugins bundled into the action: no install, no resolution. */
const BUNDLED: Record<string, Record<string, unknown>> = {
  '@pipewright/plugin-shell': shell,
};

/** Every plugin a module exports (its default export first), each once. */
export function pluginsOf(module: Record<string, unknown>): AnyPlugin[] {
  const found: AnyPlugin[] = [];
  const add = (value: unknown) => {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (isPlugin(v) && !found.includes(v as AnyPlugin)) found.push(v as AnyPlugin);
    }
  };
  add(module.default);
  for (const [name, value] of Object.entries(module)) if (name !== 'default') add(value);
  return found;
}

/** A path spec: `./x`, `../x`, `/abs/x`, or anything ending in .js/.mjs/.cjs/.ts. */
export function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.(m|c)?[jt]s$/.test(spec);
}

/** Splits `name@range` (and `@scope/name@range`) into name and the version range given, if any. */
export function splitPackageSpec(spec: string): { name: string; range?: string } {
  const at = spec.indexOf('@', 1);
  return at === -1 ? { name: spec } : { name: spec.slice(0, at), range: spec.slice(at + 1) };
}

/** The package folder of `name` as Node would find it from `from` (walking up node_modules), if any. */
export function findPackageDir(name: string, from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

type Exports = string | { [condition: string]: Exports } | Exports[] | null | undefined;

function pickExport(target: Exports): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = pickExport(t);
      if (found) return found;
    }
    return undefined;
  }
  if (!target) return undefined;
  for (const condition of ['node', 'import', 'default']) {
    if (condition in target) {
      const found = pickExport(target[condition]);
      if (found) return found;
    }
  }
  return undefined;
}

/** The file a package's `import` resolves to: exports["."] (node/import/default), else module/main/index.js. */
export async function packageEntry(dir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    exports?: Exports;
    module?: string;
    main?: string;
  };
  let entry: string | undefined;
  if (pkg.exports !== undefined) {
    const exp = pkg.exports;
    const root =
      typeof exp === 'object' &&
      exp !== null &&
      !Array.isArray(exp) &&
      Object.keys(exp).some((k) => k.startsWith('.'))
        ? exp['.']
        : exp;
    entry = pickExport(root);
  }
  return join(dir, entry ?? pkg.module ?? pkg.main ?? 'index.js');
}

export interface ResolveOptions {
  /** Where paths are relative to and packages are looked up first (the repository checkout). */
  cwd: string;
  /** Where packages that cannot be found are installed. */
  cacheDir: string;
  /** Progress messages. */
  info?: (message: string) => void;
  /** Installs packages into a folder; the default runs `npm install --prefix`. */
  install?: (packages: string[], prefix: string) => Promise<void>;
}

const execFileAsync = promisify(execFile);

async function npmInstall(packages: string[], prefix: string): Promise<void> {
  await mkdir(prefix, { recursive: true });
  try {
    await execFileAsync(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--omit=dev', '--no-save', ...packages],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(
      `plugins: npm could not install ${packages.join(', ')}${stderr ? `:\n${stderr.split('\n').slice(-10).join('\n')}` : ''}\n` +
        'Check the package names, or install the plugins in the repository (npm/pnpm install) before this step.',
    );
  }
}

/**
 * Turns the `plugins` input into plugin definitions: bundled plugins directly; paths relative to `cwd`;
 * package names resolved from `cwd` (the repository's node_modules), else installed into `cacheDir`.
 */
export async function resolvePlugins(
  specs: readonly string[],
  options: ResolveOptions,
): Promise<AnyPlugin[]> {
  const plugins: AnyPlugin[] = [];
  const files: string[] = [];
  const missing: string[] = [];
  for (const spec of specs) {
    if (BUNDLED[spec]) {
      plugins.push(...pluginsOf(BUNDLED[spec]));
      continue;
    }
    if (isPathSpec(spec)) {
      const path = resolve(options.cwd, spec);
      if (!existsSync(path)) throw new Error(`plugins: "${spec}" does not exist (looked for ${path}).`);
      files.push(path);
      continue;
    }
    const { name } = splitPackageSpec(spec);
    const dir = findPackageDir(name, options.cwd) ?? findPackageDir(name, options.cacheDir);
    if (dir) files.push(await packageEntry(dir));
    else missing.push(spec);
  }
  if (missing.length > 0) {
    options.info?.(`Installing ${missing.join(', ')} into ${options.cacheDir}`);
    await (options.install ?? npmInstall)(missing, options.cacheDir);
    for (const spec of missing) {
      const { name } = splitPackageSpec(spec);
      const dir = findPackageDir(name, options.cacheDir);
      if (!dir)
        throw new Error(`plugins: "${spec}" was installed but cannot be found in ${options.cacheDir}.`);
      files.push(await packageEntry(dir));
    }
  }
  if (files.length > 0) plugins.push(...(await loadPlugins(files, { cwd: options.cwd })));
  return plugins;
}
