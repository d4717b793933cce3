import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AnyPlugin, isPlugin } from '@pipewright/core';
import { CliError, UsageError } from './errors.js';

const isPath = (spec: string) =>
  spec.startsWith('.') || isAbsolute(spec) || /\.(m?js|cjs|ts|mts)$/.test(spec) || spec.includes('\\');

/** The module file each loaded plugin came from, for bundling it (the Lambda host build). */
export const pluginSource = new WeakMap<AnyPlugin, { file: string; exportName: string | undefined }>();

/** Plugins that were a module's default export: what a command that needs one plugin picks. */
export const defaultExports = new WeakSet<AnyPlugin>();

const identity = (p: AnyPlugin) =>
  `${p.name}#${p.action ? `${p.action.category}/${p.action.provider}/${p.action.version}` : ''}#${p.extension?.name ?? ''}`;

/** From the project first, then from pipewright's own dependencies (the bundled shell plugin). */
function resolvePackage(name: string, cwd: string): string {
  for (const from of [join(cwd, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(from).resolve(name);
    } catch (error) {
      // An ESM-only package has no `require` export: find it and read its `import` entry.
      if ((error as { code?: string }).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        const found = esmEntry(name, dirname(from));
        if (found) return found;
      }
    }
  }
  throw new Error(`cannot resolve ${name}`);
}

function esmEntry(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    if (existsSync(join(pkgDir, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
        exports?: unknown;
        main?: string;
      };
      let entry: unknown = pkg.exports;
      if (entry && typeof entry === 'object' && '.' in entry) entry = (entry as Record<string, unknown>)['.'];
      while (entry && typeof entry === 'object') {
        const e = entry as Record<string, unknown>;
        entry = e.import ?? e.node ?? e.default;
      }
      return join(pkgDir, typeof entry === 'string' ? entry : (pkg.main ?? 'index.js'));
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Resolves `spec` (an npm package name or a file path, optionally `#exportName`) to plugins, from `cwd`.
 * Without an export name: the default export (a plugin or a list of them) and every plugin exported by name.
 */
export async function loadPlugin(spec: string, cwd: string): Promise<AnyPlugin[]> {
  const hash = spec.lastIndexOf('#');
  const [moduleSpec, exportName] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  let url: string;
  if (isPath(moduleSpec)) {
    const file = resolve(cwd, moduleSpec);
    if (!existsSync(file)) {
      throw new CliError(
        `plugin ${moduleSpec}: no such file ${file}`,
        'check the path; it is resolved from the current folder',
      );
    }
    url = pathToFileURL(file).href;
  } else {
    try {
      url = pathToFileURL(resolvePackage(moduleSpec, cwd)).href;
    } catch {
      throw new CliError(
        `plugin ${moduleSpec} is not installed where pipewright runs (${cwd})`,
        `install it (npm install ${moduleSpec}) or pass a path to its built module, e.g. ./dist/index.js`,
      );
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if ((error as Error)?.name === 'PluginDefinitionError') throw error;
    const e = error as Error;
    throw new CliError(
      `plugin ${moduleSpec} failed to load: ${e?.message?.split('\n')[0] ?? String(error)}`,
      /\.ts$/.test(moduleSpec)
        ? 'point at the built JavaScript (dist/index.js), or build the plugin first'
        : 'run with --debug for the stack trace',
      1,
      { cause: error },
    );
  }
  const pick = (value: unknown): AnyPlugin[] =>
    isPlugin(value)
      ? [value]
      : Array.isArray(value) && value.length > 0 && value.every(isPlugin)
        ? value
        : [];
  const remember = (plugins: AnyPlugin[]) => {
    for (const p of plugins) {
      const name = Object.keys(mod).find((k) => mod[k] === p);
      pluginSource.set(p, { file: fileURLToPath(url), exportName: name });
    }
    return plugins;
  };
  if (exportName !== undefined) {
    const found = remember(pick(mod[exportName]));
    if (found.length === 0) {
      const names = Object.keys(mod).filter((k) => pick(mod[k]).length > 0);
      throw new CliError(
        `plugin ${moduleSpec} has no plugin export named ${exportName}`,
        names.length > 0
          ? `its plugin exports are: ${names.join(', ')}`
          : 'export the result of definePlugin',
      );
    }
    return found;
  }
  // As the worker (and so the GitHub Action) loads a module: the default export first, then every named
  // plugin export; one action type (or extension) counts once.
  const byDefault = pick(mod.default);
  for (const p of byDefault) defaultExports.add(p);
  const found: AnyPlugin[] = [];
  const seen = new Set<string>();
  for (const p of [
    ...byDefault,
    ...Object.entries(mod)
      .filter(([k]) => k !== 'default')
      .flatMap(([, v]) => pick(v)),
  ]) {
    const id = identity(p);
    if (seen.has(id)) continue;
    seen.add(id);
    found.push(p);
  }
  if (found.length > 0) return remember(found);
  throw new CliError(
    `plugin ${moduleSpec} exports no plugin definition`,
    'export default definePlugin({...}) from the module (or name one: module#exportName)',
  );
}

/** Loads every spec, in order, without duplicates. */
export async function loadPlugins(specs: readonly string[], cwd: string): Promise<AnyPlugin[]> {
  if (specs.length === 0) throw new UsageError('no plugin given', 'name at least one plugin package or file');
  const all: AnyPlugin[] = [];
  for (const spec of specs) for (const p of await loadPlugin(spec, cwd)) if (!all.includes(p)) all.push(p);
  return all;
}

/** The plugins that define a custom action; an error when none does. */
export function withActions(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const found = plugins.filter((p) => p.action);
  if (found.length === 0) {
    throw new CliError(
      `${plugins.map((p) => p.name).join(', ')} defines no CodePipeline custom action`,
      'only plugins with an `action` become action types; extensions are deployed with `pipewright extension deploy`',
    );
  }
  return found;
}
