// esbuild plugins shared by the bundles pipewright ships as single files (the GitHub Action and the Lambda
// host). Each one trades nothing in behaviour for start-up time or bytes; why is said beside each.
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, resolve, sep } from 'node:path';

const nodeRequire = createRequire(import.meta.url);

// ESM output has no `require`; bundled CommonJS (ajv, tar...) and the built-ins below call it.
export const banner = {
  js: "import { createRequire as __pwCreateRequire } from 'node:module'; const require = __pwCreateRequire(import.meta.url);",
};

/**
 * zod re-exports all of its ~50 error-message locales through `z.locales`, which no bundler can drop: about
 * 250 KB of the bundle. pipewright's messages are English, so every locale resolves to `en` here.
 */
export const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return {
        contents: source.replace(/"\.\/[a-zA-Z-]+\.js"/g, '"./en.js"'),
        resolveDir: dirname(args.path),
      };
    });
  },
};

const ZOD_JSON_SCHEMA = /[\\/]zod[\\/]v4[\\/]core[\\/](to-json-schema|json-schema-processors)\.js$/;

/**
 * Every zod schema carries its JSON Schema converter (`toJSONSchema()`, `~standard.jsonSchema`), so zod's
 * converter modules (about 14 KB) stay in a bundle that never converts. pipewright's hosts validate with zod and
 * never convert, so here each export of those modules is a function that throws, saying why: a schema still
 * builds and parses exactly as before.
 */
export const zodWithoutJsonSchema = {
  name: 'zod-without-json-schema',
  setup(b) {
    b.onLoad({ filter: ZOD_JSON_SCHEMA }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const names = new Set(
        [...source.matchAll(/^export (?:const|function|class) ([\w$]+)/gm)].map((m) => m[1]),
      );
      for (const m of source.matchAll(/^export \{([^}]*)\}/gm)) {
        for (const spec of m[1].split(',')) {
          const name = spec
            .trim()
            .split(/\s+as\s+/)
            .pop();
          if (name) names.add(name);
        }
      }
      const message = "zod's JSON Schema conversion is not part of this bundle; convert with zod itself";
      return {
        contents: [
          `function unavailable() { throw new Error(${JSON.stringify(message)}); }`,
          // Factories (createToJSONSchemaMethod...) run when a schema is built; what they return throws when called.
          ...[...names].map((n) =>
            n.startsWith('create')
              ? `export const ${n} = () => unavailable;`
              : `export const ${n} = unavailable;`,
          ),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

const NAMED_IMPORTS = /import\s*\{([^}]*)\}\s*from\s*(['"])(zod|@pipewright\/core)\2;?/g;

/**
 * `z` (zod's classic API, re-exported by @pipewright/core) is one namespace object: imported as a binding,
 * esbuild must keep every export of zod (its JSON Schema converters, its compiler, `z.core`...). Imported as
 * `import * as z from 'zod'`, esbuild keeps only what the module uses, which halves zod in the bundle. This
 * rewrites `import { z, ... } from '@pipewright/core'` (and `from 'zod'`) in workspace sources to that form; the
 * `z` is the same module either way, and an import this does not recognise is only left bigger.
 */
export const zodNamespace = {
  name: 'zod-namespace',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      let changed = false;
      const contents = source.replace(NAMED_IMPORTS, (statement, list, _quote, from) => {
        const specifiers = list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const zed = specifiers.find((s) => /^z(\s+as\s+[\w$]+)?$/.test(s));
        if (!zed) return statement;
        changed = true;
        const local = zed.split(/\s+as\s+/)[1] ?? 'z';
        const rest = specifiers.filter((s) => s !== zed);
        const namespace = `import * as ${local} from ${from === 'zod' ? "'zod'" : "'@pipewright/zod-namespace'"};`;
        return rest.length > 0 ? `${namespace} import { ${rest.join(', ')} } from '${from}';` : namespace;
      });
      if (!changed) return undefined;
      return { contents, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js', resolveDir: dirname(args.path) };
    });
    // zod as @pipewright/core resolves it, for plugins that do not depend on zod themselves.
    b.onResolve({ filter: /^@pipewright\/zod-namespace$/ }, async (args) => {
      const core = await b.resolve('@pipewright/core', {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
      });
      if (core.errors.length > 0) return { errors: core.errors };
      return b.resolve('zod', { kind: 'import-statement', resolveDir: dirname(core.path) });
    });
  },
};

/** A function that can stand in for a wrapper: no properties of its own (`.native`, promisify's symbol), no methods. */
function plainFunction(name, value) {
  if (typeof value !== 'function' || !/^[a-z]/.test(name)) return false;
  const own = Reflect.ownKeys(value).every((k) => k === 'length' || k === 'name' || k === 'prototype');
  return own && (!value.prototype || Reflect.ownKeys(value.prototype).every((k) => k === 'constructor'));
}

// An ESM `import` of a Node built-in makes Node build a module facade that reads every export once, which
// runs lazy getters (node:fs's ReadStream loads the whole streams stack; on Node 24, node:http's loads undici)
// before the first line of the bundle. Built-ins are taken with require() instead, through a small module:
// for a static import it exports every name as a pure read, so esbuild keeps only the names used, and a plain
// function as a wrapper that requires the module on its first call: `node:crypto` alone costs 8 ms at start-up
// (it loads the streams stack), for a `randomInt` that Powertools calls only when sampling. For an `import()`
// (the SDK's `await import('node:http')`), whose namespace escapes, it exports the module as `default` and only
// the names that are plain values, so no lazy getter runs.
export const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      const namespace = args.kind === 'dynamic-import' ? 'builtin-dynamic' : 'builtin';
      return { path: args.path.replace(/^node:/, ''), namespace };
    });
    const load = (args) => {
      const m = nodeRequire(args.path);
      const dynamic = args.namespace === 'builtin-dynamic';
      const names = Object.keys(m).filter(
        (k) =>
          /^[A-Za-z_$][\w$]*$/.test(k) &&
          k !== 'default' &&
          !(dynamic && Object.getOwnPropertyDescriptor(m, k)?.get),
      );
      if (dynamic) {
        return {
          contents: [
            `const m = require('node:${args.path}');`,
            'export default m;',
            ...names.map((k) => `export const ${k} = /* @__PURE__ */ (() => m.${k})();`),
          ].join('\n'),
          loader: 'js',
        };
      }
      return {
        contents: [
          'let m;',
          `const load = () => (m ??= require('node:${args.path}'));`,
          'export default /* @__PURE__ */ load();',
          ...names.map((k) =>
            plainFunction(k, Object.getOwnPropertyDescriptor(m, k)?.get ? undefined : m[k])
              ? `export function ${k}(...args) { return load().${k}(...args); }`
              : `export const ${k} = /* @__PURE__ */ (() => load().${k})();`,
          ),
        ].join('\n'),
        loader: 'js',
      };
    };
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, load);
    b.onLoad({ filter: /.*/, namespace: 'builtin-dynamic' }, load);
  },
};

const LAZY = Symbol('lazy-imports');

/**
 * A single file still costs its whole size at start-up: V8 scans every function in it, even one that runs only
 * on some jobs or invocations (the S3 client and the zip code in the action, ajv and the SDK in the Lambda
 * host), and in an ES module that scan is about a third of the file's start-up cost. So each `import()` of a
 * literal specifier in pipewright's own sources is bundled on its own, as CommonJS, and carried in the file as
 * a string, which V8 skips over; the first `import()` compiles it (`new Function`) and hands out its exports.
 * The file stays one file; only the compile moves to where the code is first needed. What such a module
 * imports is bundled into it, so it must not share state (classes checked with `instanceof`, singletons)
 * with the rest of the bundle. `compress`, when given, gets each module's minified code and returns the code to
 * carry (the Lambda host passes terser's, which saves a few more KB than esbuild's minifier).
 */
export function lazyImports({ compress = async (code) => code } = {}) {
  return {
    name: 'lazy-imports',
    setup(b) {
      const parent = b.initialOptions;
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === LAZY) return undefined;
        if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined;
        const resolved = await b.resolve(args.path, {
          kind: 'dynamic-import',
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: LAZY,
        });
        if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== 'file')
          return undefined;
        return { path: resolved.path, namespace: 'lazy' };
      });
      b.onLoad({ filter: /.*/, namespace: 'lazy' }, async (args) => {
        const options = {
          stdin: { contents: `export * from ${JSON.stringify(args.path)};`, resolveDir: dirname(args.path) },
          bundle: true,
          write: false,
          platform: 'node',
          target: parent.target,
          minify: parent.minify,
          conditions: parent.conditions,
          mainFields: parent.mainFields,
          external: parent.external,
          plugins: parent.plugins,
          legalComments: 'none',
          logLevel: 'warning',
        };
        // `export *` carries named exports only: `(await import(x)).default` is the exports object, as for any
        // CommonJS module.
        const cjs = await b.esbuild.build({ ...options, format: 'cjs', metafile: true, outfile: 'lazy.cjs' });
        const code = await compress(cjs.outputFiles[0].text);
        // A CommonJS module to esbuild: it is evaluated on the first import(), which copies its exports then.
        // An ES module here would have its namespace (700 names for the S3 client) built at start-up.
        return {
          contents: `new Function('module', 'exports', 'require', ${JSON.stringify(code)})(module, exports, require);`,
          loader: 'js',
          resolveDir: dirname(args.path),
          watchFiles: Object.keys(cjs.metafile.inputs).map((p) => resolve(p)),
        };
      });
    },
  };
}

/**
 * The plugins every pipewright Node bundle uses, in the order they must run; `compress` goes to lazyImports.
 * One list, so the GitHub Action and the Lambda host cannot drift apart.
 */
export function nodeBundlePlugins({ compress } = {}) {
  return [
    englishOnlyZod,
    zodWithoutJsonSchema,
    zodNamespace,
    builtinsViaRequire,
    lazyImports(compress ? { compress } : {}),
  ];
}
