#!/usr/bin/env node
// Builds the Lambda deployment package: src/main.ts bundled by esbuild into dist/lambda/ (ESM: `index.mjs` and
// chunks it imports on first use; AWS SDK included, as Lambda's built-in SDK version is not ours to pick),
// zipped as dist/lambda.zip with `index.mjs` at the root (handler `index.handler`). Also bundles the deploy
// command (dist/deploy.mjs).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
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

/**
 * Options shared by every bundle. `@pipewright/source` makes workspace packages resolve from their TypeScript
 * source; `module` (which esbuild drops by default once `conditions` is set) and `mainFields` pick packages' ES
 * modules over CommonJS: the AWS SDK's subpath exports list `module` before `node`, and its ESM is smaller
 * (tree-shaken) and quicker to load.
 */
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
    conditions: ['@pipewright/source', 'module'],
    mainFields: ['module', 'main'],
    banner,
    logLevel: 'warning',
    metafile: true,
    plugins: [englishOnlyZod, zodNamespace],
    ...extra,
  };
}

/** Zips files (paths relative to `dir`, `/`-separated in the archive) into `zipPath`. */
export async function zipFiles(dir, files, zipPath) {
  const zip = new yazl.ZipFile();
  for (const file of [...files].sort()) {
    // A fixed date keeps the archive reproducible: same code, same zip, same CodeSha256.
    zip.addBuffer(await readFile(join(dir, file)), file.split(sep).join('/'), {
      mtime: new Date('2020-01-01T00:00:00Z'),
      mode: 0o100644,
    });
  }
  zip.end();
  await new Promise((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolve).on('error', reject);
  });
  return (await stat(zipPath)).size;
}

/** Output files of a build, by absolute path, with their sizes and static imports. */
function outputsOf(metafile) {
  return new Map(
    Object.entries(metafile.outputs).map(([path, output]) => [
      resolve(path),
      {
        bytes: output.bytes,
        imports: output.imports
          .filter((i) => i.kind === 'import-statement' && !i.external)
          .map((i) => resolve(i.path)),
      },
    ]),
  );
}

/** Bytes Node reads and compiles to import `entry`: the entry and the chunks it imports statically. */
function startupBytes(outputs, entry, seen = new Set()) {
  if (seen.has(entry)) return 0;
  seen.add(entry);
  const output = outputs.get(entry);
  return output.bytes + output.imports.reduce((sum, i) => sum + startupBytes(outputs, i, seen), 0);
}

/**
 * Bundles a handler entry into `<outdir>/lambda/` (`index.mjs` and the chunks it loads on demand) and zips that
 * folder into `<outdir>/<zipName>`.
 *
 * Code that runs only on some invocations (ajv, the YAML parser, the AWS SDK) is split into chunks that are
 * imported on first use: Node then reads and compiles only the entry at a cold start, instead of one file with
 * everything (the SDK alone is ~600 KB).
 */
export async function buildLambda({ entry, outdir, zipName = 'lambda.zip', external = [] }) {
  const codeDir = join(outdir, 'lambda');
  // Chunk names carry content hashes: a fresh folder, so no stale chunk lands in the zip.
  await rm(codeDir, { recursive: true, force: true });
  await mkdir(codeDir, { recursive: true });
  const result = await build(
    bundleOptions(entry, undefined, {
      outdir: codeDir,
      entryNames: 'index',
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      splitting: true,
      external,
    }),
  );
  const outputs = outputsOf(result.metafile);
  const outfile = join(codeDir, 'index.mjs');
  const zipPath = join(outdir, zipName);
  const zipBytes = await zipFiles(
    codeDir,
    [...outputs.keys()].map((path) => relative(codeDir, path)),
    zipPath,
  );
  return {
    outfile,
    zipPath,
    bundleBytes: [...outputs.values()].reduce((sum, o) => sum + o.bytes, 0),
    startupBytes: startupBytes(outputs, outfile),
    zipBytes,
    metafile: result.metafile,
  };
}

async function main() {
  const dist = join(root, 'dist');
  const lambda = await buildLambda({ entry: join(root, 'src/main.ts'), outdir: dist });
  await build(bundleOptions(join(root, 'src/deploy.ts'), join(dist, 'deploy.mjs')));
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  console.log(
    `dist/lambda/ ${kb(lambda.bundleBytes)} (index.mjs and what it imports at start-up: ${kb(lambda.startupBytes)}), dist/lambda.zip ${kb(lambda.zipBytes)}, dist/deploy.mjs`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
