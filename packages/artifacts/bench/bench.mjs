// Benchmarks @pipewright/artifacts against the command-line baseline, measured in the same run:
//   fetch + extract a 20,000-file, ~256 MiB zip from the local stack  vs  curl + unzip (and curl | bsdtar)
//   zip + upload the same tree                                         vs  zip -r (same level) + curl PUT
// The tree is generated here (not committed). Run with `pnpm --filter @pipewright/artifacts bench`
// after a build; it uses dist/, not the TypeScript sources.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '@pipewright/local';
import { generateTree } from '../../../scripts/bench-tree.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const FILES = Number(process.env.PW_BENCH_FILES ?? 20_000);
const TOTAL = Number(process.env.PW_BENCH_BYTES ?? 256 * 1024 * 1024);
const RUNS = Number(process.env.PW_BENCH_RUNS ?? 2);
// PW_BENCH_LEVEL sets the deflate level of both sides (default 6; 0 stores, as `zip -0`).
const LEVEL = Number(process.env.PW_BENCH_LEVEL ?? 6);
if (!Number.isInteger(LEVEL) || LEVEL < 0 || LEVEL > 9) {
  throw new Error(`PW_BENCH_LEVEL must be an integer from 0 to 9, got ${process.env.PW_BENCH_LEVEL}`);
}
// PW_BENCH_ONLY=fetch or =upload runs one side alone (fetch alone uploads a `zip -r` of the tree first).
const ONLY = process.env.PW_BENCH_ONLY ?? '';

const work = mkdtempSync(join(tmpdir(), 'pw-artifacts-bench-'));
const stack = await startLocalStack();
const cfg = stack.clientConfig('s3');
const bucket = stack.artifactBucket;

// Asynchronous on purpose: the local stack serves S3 from this very process, so a spawnSync would block it.
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`)),
    );
  });
}
async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const curlAuth = () => [
  '-sS',
  '--fail',
  '--aws-sigv4',
  `aws:amz:${cfg.region}:s3`,
  '--user',
  `${cfg.credentials.accessKeyId}:${cfg.credentials.secretAccessKey}`,
  '-H',
  'x-amz-content-sha256: UNSIGNED-PAYLOAD',
];
const url = (key) => `${cfg.endpoint}/${bucket}/${key}`;

const generate = (root) => generateTree(root, FILES, TOTAL);

async function child(args) {
  const out = await run(process.execPath, [join(here, 'child.mjs'), ...args], {
    env: { ...process.env, PW_S3_CONFIG: JSON.stringify(cfg), PW_LEVEL: String(LEVEL) },
  });
  return JSON.parse(out);
}

const best = (xs) => Math.min(...xs);
const rows = [];
try {
  const tree = join(work, 'tree');
  const tGen = await timed(async () => generate(tree));
  const zipPath = join(work, 'baseline.zip');
  console.log(
    `generated ${FILES} files, ${(TOTAL / 2 ** 20).toFixed(0)} MiB in ${(tGen / 1000).toFixed(1)} s`,
  );

  // Each contender starts from the same state: dirty pages of the previous one flushed (`sync`, untimed),
  // and the order alternating between runs so neither always goes first.
  const settle = () => run('sync', []);
  const order = (r, steps) => (r % 2 === 0 ? steps : [...steps].reverse());

  // --- zip + upload ---
  const baseUp = [];
  const ourUp = [];
  let ourUpRss = 0;
  for (let r = 0; r < (ONLY === 'fetch' ? 0 : RUNS); r++) {
    for (const step of order(r, ['baseline', 'ours'])) {
      await settle();
      if (step === 'baseline') {
        rmSync(zipPath, { force: true });
        baseUp.push(
          await timed(async () => {
            await run('zip', ['-r', '-q', `-${LEVEL}`, '-y', zipPath, '.'], { cwd: tree });
            await run('curl', [
              ...curlAuth(),
              '-H',
              'x-amz-server-side-encryption: aws:kms',
              '-T',
              zipPath,
              url('bench/baseline.zip'),
            ]);
          }),
        );
      } else {
        const ours = await child(['upload', tree, bucket, 'bench/ours.zip']);
        ourUp.push(ours.ms);
        ourUpRss = Math.max(ourUpRss, ours.maxRssMiB);
      }
    }
  }
  if (ONLY === 'fetch') {
    await run('zip', ['-r', '-q', `-${LEVEL}`, '-y', zipPath, '.'], { cwd: tree });
    const kms = ['-H', 'x-amz-server-side-encryption: aws:kms'];
    await run('curl', [...curlAuth(), ...kms, '-T', zipPath, url('bench/baseline.zip')]);
  }
  const zipMiB = statSync(zipPath).size / 2 ** 20;
  rows.push({
    benchmark: 'zip + upload',
    baseline: `zip -r -${LEVEL} + curl PUT`,
    'baseline s': best(baseUp) / 1000,
    'ours s': best(ourUp) / 1000,
    ratio: best(ourUp) / best(baseUp),
    'ours max RSS MiB': ourUpRss,
    target: '<=1.1x, <=128 MiB',
  });

  // --- fetch + extract (the object is the baseline's zip from `zip -r`, 20,000 files) ---
  const baseDown = [];
  const bsdDown = [];
  const ourDown = [];
  let ourDownRss = 0;
  const hasBsdtar = spawnSync('bsdtar', ['--version']).status === 0;
  const steps = hasBsdtar ? ['unzip', 'bsdtar', 'ours'] : ['unzip', 'ours'];
  for (let r = 0; r < (ONLY === 'upload' ? 0 : RUNS); r++) {
    for (const step of order(r, steps)) {
      const dir = join(work, `${step}-${r}`);
      await settle();
      if (step === 'unzip') {
        const fetched = join(work, `fetched-${r}.zip`);
        baseDown.push(
          await timed(async () => {
            await run('curl', [...curlAuth(), '-o', fetched, url('bench/baseline.zip')]);
            await run('unzip', ['-q', '-o', fetched, '-d', dir]);
          }),
        );
        rmSync(fetched, { force: true });
      } else if (step === 'bsdtar') {
        mkdirSync(dir);
        bsdDown.push(
          await timed(() =>
            run('sh', [
              '-c',
              `curl "$@" | bsdtar -x -f - -C '${dir}'`,
              'sh',
              ...curlAuth(),
              url('bench/baseline.zip'),
            ]),
          ),
        );
      } else {
        const ours = await child(['download', bucket, 'bench/baseline.zip', dir]);
        if (ours.result.files !== FILES)
          throw new Error(`extracted ${ours.result.files} files, expected ${FILES}`);
        ourDown.push(ours.ms);
        ourDownRss = Math.max(ourDownRss, ours.maxRssMiB);
      }
      // Outputs stay until the end: deleting 20,000 files makes the disk slow for whoever runs next.
    }
  }
  const baseline = hasBsdtar ? Math.min(best(baseDown), best(bsdDown)) : best(baseDown);
  rows.unshift({
    benchmark: `fetch + extract (${zipMiB.toFixed(0)} MiB zip, ${FILES} files)`,
    baseline: hasBsdtar
      ? `min(curl + unzip ${(best(baseDown) / 1000).toFixed(2)} s, curl | bsdtar ${(best(bsdDown) / 1000).toFixed(2)} s)`
      : 'curl + unzip -q',
    'baseline s': baseline / 1000,
    'ours s': best(ourDown) / 1000,
    ratio: best(ourDown) / baseline,
    'ours max RSS MiB': ourDownRss,
    target: '<=1.1x, <=128 MiB',
  });
  // A side skipped by PW_BENCH_ONLY has no measurements (its ratio is NaN): leave its row out.
  rows.splice(0, rows.length, ...rows.filter((r) => Number.isFinite(r.ratio)));
  console.log(
    `best of ${RUNS} runs; ours measured inside its own process (no Node startup), baselines end to end`,
  );
  console.table(
    rows.map((r) => ({
      ...r,
      'baseline s': r['baseline s'].toFixed(2),
      'ours s': r['ours s'].toFixed(2),
      ratio: `${r.ratio.toFixed(2)}x`,
      'ours max RSS MiB': r['ours max RSS MiB'].toFixed(0),
    })),
  );
} finally {
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
}
