// Bundles the action into one ESM file per entry (dist/index.js for the main step, dist/post.js for the post
// step), every dependency included, as the runner runs them: `node dist/index.js` with no node_modules.
// dist/ is never committed; the release workflow builds it and publishes it on the release tag.
import { rm, stat, writeFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const nodeRequire = createRequire(import.meta.url);
const outdir = join(here, 'dist');

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

// zod's namespace export carries every message locale (about 250 KiB); pipewright's messages are English,
// so `z.locales` holds only `en` in the bundle.
const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

// An ESM `import` of a Node built-in makes Node build a module facade that reads every export once, which
// runs lazy getters (node:fs's ReadStream loads the whole streams stack) before the first line of the action.
// Built-ins are taken with require() instead, through a small module that exports only the names the
// bundle uses (each read is pure, so esbuild drops the rest).
const builtinsViaRequire = {
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
  banner: {
    js: "import{createRequire as __pwCreateRequire}from'node:module';const require=__pwCreateRequire(import.meta.url);",
  },
  plugins: [noHttpClient, englishOnlyZod, builtinsViaRequire],
  logLevel: 'warning',
});

// The runner looks for package.json "type" next to the file; make dist/ ESM whatever surrounds it.
await writeFile(join(outdir, 'package.json'), '{ "type": "module" }\n');

// `node build.mjs --analyze`: what the bundle is made of, by package.
if (process.argv.includes('--analyze')) {
  const sizes = {};
  for (const [file, { bytesInOutput }] of Object.entries(result.metafile.outputs['dist/index.js'].inputs)) {
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
  console.log(`dist/${name}: ${(size / 1024).toFixed(1)} KiB`);
}
