#!/usr/bin/env node
// Builds the Lambda deployment package: src/main.ts bundled by esbuild into one ESM file (AWS SDK included,
// as Lambda's built-in SDK version is not ours to pick), zipped as dist/lambda.zip with `index.mjs` at the root
// (handler `index.handler`). Also bundles the deploy command (dist/deploy.mjs).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import yazl from 'yazl';

const root = dirname(fileURLToPath(import.meta.url));

// ESM output has no `require`; some bundled CommonJS (ajv, the AWS SDK) calls it for Node built-ins.
const banner = {
  js: "import { createRequire as __pwCreateRequire } from 'node:module'; const require = __pwCreateRequire(import.meta.url);",
};

/**
 * zod re-exports all of its ~50 error-message locales through `z.locales`, which no bundler can drop: about
 * 250 KB of the bundle. pipewright's messages are English, so every locale resolves to `en` here.
 */
const englishOnlyZod = {
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
const zodNamespace = {
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

/** Options shared by every bundle; `conditions` makes workspace packages resolve from their TypeScript source. */
export function bundleOptions(entry, outfile, extra = {}) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    conditions: ['@pipewright/source'],
    mainFields: ['main', 'module'],
    banner,
    logLevel: 'warning',
    metafile: true,
    plugins: [englishOnlyZod, zodNamespace],
    ...extra,
  };
}

/** Zips one file as `index.mjs` at the root of the archive. */
export async function zipBundle(file, zipPath) {
  const zip = new yazl.ZipFile();
  // A fixed date keeps the archive reproducible: same code, same zip, same CodeSha256.
  zip.addBuffer(await readFile(file), 'index.mjs', {
    mtime: new Date('2020-01-01T00:00:00Z'),
    mode: 0o100644,
  });
  zip.end();
  await new Promise((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolve).on('error', reject);
  });
  return (await stat(zipPath)).size;
}

/** Bundles a handler entry into `<outdir>/index.mjs` and zips it into `<outdir>/<zipName>`. */
export async function buildLambda({ entry, outdir, zipName = 'lambda.zip', external = [] }) {
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  const result = await build(bundleOptions(entry, outfile, { external }));
  const zipPath = join(outdir, zipName);
  const zipBytes = await zipBundle(outfile, zipPath);
  return { outfile, zipPath, bundleBytes: (await stat(outfile)).size, zipBytes, metafile: result.metafile };
}

async function main() {
  const dist = join(root, 'dist');
  const lambda = await buildLambda({ entry: join(root, 'src/main.ts'), outdir: dist });
  await build(bundleOptions(join(root, 'src/deploy.ts'), join(dist, 'deploy.mjs')));
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  console.log(
    `dist/index.mjs ${kb(lambda.bundleBytes)}, dist/lambda.zip ${kb(lambda.zipBytes)}, dist/deploy.mjs`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
