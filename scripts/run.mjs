#!/usr/bin/env node
// The README's commands (`npm start`, `npm test`, `npm run bench`) start here, so that a machine with
// nothing but Node and npm can run them: this script finds pnpm (or installs the pinned version into
// .tools/), installs the workspace, then hands over to turbo. No dependency may be imported here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const localTools = join(root, '.tools');
const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  PATH: [join(localTools, 'node_modules', '.bin'), process.env.PATH].join(delimiter),
};

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function pnpmMajor() {
  const probe = spawnSync('pnpm', ['--version'], { env, encoding: 'utf8' });
  return probe.status === 0 ? Number(probe.stdout.trim().split('.')[0]) : undefined;
}

function ensurePnpm() {
  if (pnpmMajor() === Number(pinned.split('.')[0])) return;
  console.log(`pipewright: installing pnpm ${pinned} into .tools/ (no global install needed)`);
  const status = run(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--prefix', localTools, `pnpm@${pinned}`],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (status !== 0 || pnpmMajor() === undefined) {
    console.error(
      'pipewright: could not install pnpm. Install it yourself with `npm i -g pnpm@10` and try again.',
    );
    process.exit(1);
  }
}

function install() {
  const args = ['install', '--prefer-offline'];
  if (process.env.CI) args.push('--frozen-lockfile');
  const status = run('pnpm', args);
  if (status !== 0) process.exit(status);
}

const tasks = {
  start: [
    ['pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only']],
    // `pipewright dev`: the local stack, the shell action types, a pipeline over the example project run by
    // a worker, and an AppConfig deployment checked by an extension in the local Lambda host. It stays up
    // until Ctrl-C; `npm start -- --exit` stops after the run.
    // Run directly, not through `pnpm run`: pnpm reports a Ctrl-C as a failure (exit 130) even when the
    // command stopped cleanly.
    [process.execPath, [join('packages', 'cli', 'dist', 'bin.js'), 'dev', ...process.argv.slice(3)]],
  ],
  test: [
    // The Node the GitHub Action runs on, for the second pass of the action's, the worker's and the
    // artifacts' tests (`test:action-runtime`): installed once here, before tasks run side by side.
    [process.execPath, [join('scripts', 'test-action-runtime.mjs'), '--install']],
    // Two at a time on purpose: the end-to-end suites start servers and worker processes, and running
    // all of them at once on a small machine turns timing margins into flakes.
    [
      'pnpm',
      [
        'turbo',
        'run',
        'build',
        'typecheck',
        'test',
        'test:action-runtime',
        'check:pkg',
        '--concurrency=2',
        '--output-logs=new-only',
      ],
    ],
    ['pnpm', ['biome', 'check', '.']],
  ],
  bench: [['pnpm', ['turbo', 'run', 'bench', '--concurrency=1']]],
};

const task = process.argv[2];
if (!tasks[task]) {
  console.error(`usage: node scripts/run.mjs <${Object.keys(tasks).join('|')}>`);
  process.exit(2);
}
ensurePnpm();
if (!existsSync(join(root, 'node_modules', '.modules.yaml')) || task !== 'bench' || process.env.CI) install();
/**
 * Runs one step of a task, and stops it politely when this script is asked to stop. Ctrl-C reaches every
 * process in the terminal's group, the step included, so this script only waits for the step to finish
 * (`pnpm start` stops its local stack and exits 0 then). A SIGTERM sent to this script alone (a supervisor,
 * `timeout`) is passed on, so the step never outlives it holding ports.
 */
function runStep(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: 'inherit' });
    const onInt = () => {};
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 143));
    });
  });
}

for (const [cmd, args] of tasks[task]) {
  const status = await runStep(cmd, args);
  if (status !== 0) process.exit(status);
}
