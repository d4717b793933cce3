// esbuild plugins shared by the bundles pipewright ships as single files (the GitHub Action and the Lambda
// host). Each one trades nothing in behaviour for start-up time or bytes; why is said beside each.
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, sep } from 'node:path';

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

// An ESM `import` of a Node built-in makes Node build a module facade that reads every export once, which
// runs lazy getters (node:fs's ReadStream loads the whole streams stack) before the first line of the action.
// Built-ins are taken with require() instead, through a small module that exports only the names the
// bundle uses (each read is pure, so esbuild drops the rest).
export const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (!isBuiltin(args.path) || args.kind !== 'import-statement') return undefined;
      return { path: args.path.replace(/^node:/, ''), namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const names = Object.keys(nodeRequire(args.path)).filter(
        (k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default',
      );
      return {
        contents: [
          `const m = require('node:${args.path}');`,
          'export default m;',
          ...names.map((k) => `export const ${k} = /* @__PURE__ */ (() => m.${k})();`),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};
