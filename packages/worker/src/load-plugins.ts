import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AnyPlugin, isPlugin } from '@pipewright/core';

const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:');

async function importSpec(spec: string, cwd: string): Promise<Record<string, unknown>> {
  let target: string;
  if (spec.startsWith('file:')) {
    target = spec;
  } else if (isPath(spec)) {
    target = pathToFileURL(resolve(cwd, spec)).href;
  } else {
    try {
      target = pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
    } catch (error) {
      const code = (error as { code?: string }).code;
      // ESM-only packages have no `require` export: let import() resolve them from here instead.
      if (code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        throw new Error(
          `cannot load plugin "${spec}": the package is not installed where ${cwd} can see it (npm install ${spec}, or pass a path)`,
          { cause: error },
        );
      }
      target = spec;
    }
  }
  try {
    return (await import(target)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && (isPath(spec) || target === spec)) {
      throw new Error(`cannot load plugin "${spec}": not found from ${cwd}`, { cause: error });
    }
    throw new Error(
      `cannot load plugin "${spec}": ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

const identity = (p: AnyPlugin) =>
  p.action
    ? `${p.name}#${p.action.category}/${p.action.provider}/${p.action.version}`
    : `${p.name}#extension`;

/**
 * Loads plugins by npm package name or path. A module contributes its default export and its named
 * exports that are plugins; when it exports none, its exported functions that take no arguments are tried
 * as plugin factories. The same action type from two exports counts once.
 */
export async function loadPlugins(specs: string[], options: { cwd?: string } = {}): Promise<AnyPlugin[]> {
  const cwd = options.cwd ?? process.cwd();
  const seen = new Set<string>();
  const plugins: AnyPlugin[] = [];
  for (const spec of specs) {
    const mod = await importSpec(spec, cwd);
    const exports = [
      mod.default,
      ...Object.entries(mod)
        .filter(([k]) => k !== 'default')
        .map(([, v]) => v),
    ];
    let found = exports.filter(isPlugin);
    if (found.length === 0) {
      found = [];
      for (const value of exports) {
        if (typeof value !== 'function' || value.length > 0) continue;
        try {
          const made = await (value as () => unknown)();
          if (isPlugin(made)) found.push(made);
        } catch {
          // Not a factory.
        }
      }
    }
    if (found.length === 0) {
      throw new Error(
        `"${spec}" exports no pipewright plugin: export one made with definePlugin (as default or named export)`,
      );
    }
    for (const plugin of found) {
      const id = identity(plugin);
      if (seen.has(id)) continue;
      seen.add(id);
      plugins.push(plugin);
    }
  }
  return plugins;
}
