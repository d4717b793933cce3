#!/usr/bin/env node
// Runs a package's tests on the Node version the GitHub Action declares (`runs.using` in
// apps/github-action/action.yml), which is the runtime its users get, whatever Node runs the rest of the
// suite. Node 24 differs where it matters here: V8's compilers, when zlib handles are freed, the HTTP client.
// That Node comes from the npm registry (the `node` package) into .tools/node<major>/, once.
//   node scripts/test-action-runtime.mjs            in a package folder: `vitest run` on that Node
//   node scripts/test-action-runtime.mjs --install  only make sure that Node is there (npm test does this
//                                                   first, so that parallel tasks do not install it at once)
//   node scripts/test-action-runtime.mjs --path     print that Node's path (installing it when missing)
// No dependency may be imported here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const actionYml = readFileSync(join(root, 'apps', 'github-action', 'action.yml'), 'utf8');
const using = actionYml.match(/^\s*using:\s*['"]?node(\d+)/m);
if (!using) fail('apps/github-action/action.yml has no `runs.using: nodeNN`');
const major = using[1];
const prefix = join(root, '.tools', `node${major}`);
const binary = join(prefix, 'node_modules', 'node', 'bin', 'node');

function fail(message) {
  console.error(`pipewright: ${message}`);
  process.exit(1);
}

function version(node) {
  const probe = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** The path of a Node `major` binary, installed from the npm registry when missing. */
function ensureNode() {
  if (version(binary)?.startsWith(`v${major}.`)) return binary;
  console.error(
    `pipewright: installing Node ${major} (the GitHub Action's runtime) into .tools/node${major}/`,
  );
  // Into a fresh folder renamed into place, so that two tasks installing at once cannot mix their files.
  mkdirSync(join(root, '.tools'), { recursive: true });
  const staging = mkdtempSync(join(root, '.tools', `node${major}-`));
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--prefix',
      staging,
      `node@${major}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  const staged = join(staging, 'node_modules', 'node', 'bin', 'node');
  if (npm.status !== 0 || !version(staged)?.startsWith(`v${major}.`)) {
    rmSync(staging, { recursive: true, force: true });
    process.stderr.write(npm.stderr ?? '');
    fail(
      `could not install Node ${major} from the npm registry (npm install node@${major}). The tests of the ` +
        'GitHub Action, the worker and the artifacts run on it too; check the registry access and try again.',
    );
  }
  rmSync(prefix, { recursive: true, force: true });
  try {
    renameSync(staging, prefix);
  } catch (error) {
    // Another task put its copy in place first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(binary)) throw error;
  }
  return binary;
}

if (process.argv.includes('--path')) {
  // For the benchmarks, which measure the Action on its runtime: the binary's path alone on stdout.
  const path = process.versions.node.split('.')[0] === major ? process.execPath : ensureNode();
  process.stdout.write(`${path}\n`);
  process.exit(0);
}
if (process.versions.node.split('.')[0] === major) {
  console.log(`pipewright: the suite already runs on Node ${major}, the GitHub Action's runtime`);
  process.exit(0);
}
const node = ensureNode();
if (process.argv.includes('--install')) process.exit(0);

const vitest = join(
  dirname(createRequire(join(root, 'package.json')).resolve('vitest/package.json')),
  'vitest.mjs',
);
console.log(`pipewright: the tests again on ${version(node)}, the GitHub Action's runtime`);
const run = spawnSync(node, [vitest, 'run'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
