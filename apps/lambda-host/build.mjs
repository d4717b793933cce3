#!/usr/bin/env node
// Builds the Lambda deployment package: src/main.ts bundled by esbuild into one ESM file (AWS SDK included,
// as Lambda's built-in SDK version is not ours to pick), zipped as dist/lambda.zip with `index.mjs` at the root
// (handler `index.handler`). Also bundles the deploy command (dist/deploy.mjs).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
    plugins: [englishOnlyZod],
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
