// Bundles the action into one ESM file per entry (dist/index.js for the main step, dist/post.js for the post
// step), every dependency included, as the runner runs them: `node dist/index.js` with no node_modules.
// dist/ is never committed; the release workflow builds it and publishes it on the release tag.
import { rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { banner, nodeBundlePlugins } from '../../scripts/esbuild-plugins.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// `--outdir <dir>` builds elsewhere: the tests build their own copy, so that the suite's two runs (Node 20
// and the action's Node 24, in parallel) never delete a bundle the other is running.
const outAt = process.argv.indexOf('--outdir');
const outdir = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(here, 'dist');

await rm(outdir, { recursive: true, force: true });
// @actions/core imports @actions/http-client (and through it undici, about 400 KiB) only for getIDToken().
// The action never asks for an OIDC token (configure-aws-credentials does that), so that import is replaced
// by a stub that says so if it is ever reached.
const noHttpClient = {
  name: 'no-actions-http-client',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client(\/.*)?$/ }, (args) => ({
      path: args.path,
      namespace: 'stub',
    }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: `const no = () => { throw new Error('pipewright: the action bundle has no HTTP client (getIDToken is not supported)'); };
export class HttpClient { constructor() { no(); } }
export class BearerCredentialHandler { constructor() { no(); } }`,
      loader: 'js',
    }));
  },
};

const result = await build({
  absWorkingDir: here,
  entryPoints: { index: 'src/index.ts', post: 'src/post.ts' },
  outdir,
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  // The runner runs node24; the tests also run the bundle on Node 20, which supports the same syntax.
  target: ['node24', 'node20'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  metafile: true,
  // Workspace packages from their TypeScript source: the bundle never depends on a stale dist/.
  conditions: ['@pipewright/source', 'module'],
  mainFields: ['module', 'main'],
  // Some bundled CommonJS modules call require() for Node built-ins.
  banner,
  plugins: [noHttpClient, ...nodeBundlePlugins()],
  logLevel: 'warning',
});

// The runner looks for package.json "type" next to the file; make dist/ ESM whatever surrounds it.
await writeFile(join(outdir, 'package.json'), '{ "type": "module" }\n');

// `node build.mjs --analyze`: what the bundle is made of, by package.
if (process.argv.includes('--analyze')) {
  const sizes = {};
  const indexKey = relative(here, join(outdir, 'index.js')).replaceAll('\\', '/');
  for (const [file, { bytesInOutput }] of Object.entries(result.metafile.outputs[indexKey].inputs)) {
    const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = m ? m[1] : file.split('/').slice(0, 4).join('/');
    sizes[key] = (sizes[key] ?? 0) + bytesInOutput;
  }
  for (const [name, bytes] of Object.entries(sizes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)) {
    console.log(`${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${name}`);
  }
}

for (const name of ['index.js', 'post.js']) {
  const { size } = await stat(join(outdir, name));
  console.log(`${relative(here, join(outdir, name))}: ${(size / 1024).toFixed(1)} KiB`);
}
