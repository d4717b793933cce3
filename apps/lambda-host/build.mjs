#!/usr/bin/env node
// Builds the Lambda deployment package: src/main.ts bundled by esbuild into one ESM file, dist/lambda/index.mjs
// (AWS SDK included, as Lambda's built-in SDK version is not ours to pick), zipped as dist/lambda.zip with
// `index.mjs` at the root (handler `index.handler`). Also bundles the deploy
// command (dist/deploy.mjs).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { minify } from 'terser';
import yazl from 'yazl';
import { banner, nodeBundlePlugins } from '../../scripts/esbuild-plugins.mjs';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Options shared by every bundle. `@pipewright/source` makes workspace packages resolve from their TypeScript
 * source; `module` (which esbuild drops by default once `conditions` is set) and `mainFields` pick packages' ES
 * modules over CommonJS: the AWS SDK's subpath exports list `module` before `node`, and its ESM is smaller
 * (tree-shaken) and quicker to load.
 */
export function bundleOptions(entry, outfile, { compress, ...extra } = {}) {
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
    plugins: nodeBundlePlugins({ compress }),
    ...extra,
  };
}

/**
 * terser over esbuild's minified output: its compressor finds what esbuild's leaves (about 2.5% of the bytes),
 * which the Lambda bundle needs to stay under 300 KB. Default options only: nothing unsafe.
 */
async function terse(code, module) {
  const result = await minify(code, {
    module,
    ecma: 2022,
    compress: { passes: 2 },
    format: { comments: false },
  });
  return result.code;
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

/**
 * Bundles a handler entry into one ESM file, `<outdir>/lambda/index.mjs`, and zips it into `<outdir>/<zipName>`.
 * Code that runs only on some invocations (ajv, the YAML parser, the AWS SDK) is imported dynamically, so it is
 * evaluated on first use; V8 still scans it at a cold start, which splitting it into chunks would avoid, but
 * the deployment package is one file by design (nothing to resolve at run time, nothing to get out of step).
 */
export async function buildLambda({ entry, outdir, zipName = 'lambda.zip', external = [] }) {
  const codeDir = join(outdir, 'lambda');
  await rm(codeDir, { recursive: true, force: true });
  await mkdir(codeDir, { recursive: true });
  const outfile = join(codeDir, 'index.mjs');
  const result = await build(
    bundleOptions(entry, outfile, { external, compress: (code) => terse(code, false) }),
  );
  await writeFile(outfile, await terse(await readFile(outfile, 'utf8'), true));
  const zipPath = join(outdir, zipName);
  const zipBytes = await zipFiles(codeDir, ['index.mjs'], zipPath);
  return {
    outfile,
    zipPath,
    bundleBytes: (await stat(outfile)).size,
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
    `dist/lambda/index.mjs ${kb(lambda.bundleBytes)}, dist/lambda.zip ${kb(lambda.zipBytes)}, dist/deploy.mjs`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
