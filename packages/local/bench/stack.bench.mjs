// Benchmark of the local stack (not a timed test): `pnpm --filter @pipewright/local bench` (builds first).
// Prints PollForJobs calls per second and artifact GET/PUT throughput, each beside its baseline.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  PollForJobsCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalStack } from '../dist/index.js';

const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 256);
const POLL_SECONDS = Number(process.env.BENCH_POLL_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const dir = mkdtempSync(join(tmpdir(), 'pipewright-bench-'));
const stack = await startLocalStack();
const rows = [];

try {
  // PollForJobs: workers polling an empty queue is the steady state the stack must sustain.
  const cp = new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 1 });
  await cp.send(
    new CreateCustomActionTypeCommand({
      category: 'Build',
      provider: 'Bench',
      version: '1',
      inputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
      outputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
    }),
  );
  const actionTypeId = { category: 'Build', owner: 'Custom', provider: 'Bench', version: '1' };
  for (let i = 0; i < 200; i++) await cp.send(new PollForJobsCommand({ actionTypeId }));
  let calls = 0;
  const end = Date.now() + POLL_SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await cp.send(new PollForJobsCommand({ actionTypeId, maxBatchSize: 1 }));
        calls++;
      }
    }),
  );
  const perSecond = calls / ((Date.now() - started) / 1000);
  rows.push([
    'PollForJobs, SDK client in the same process',
    `${perSecond.toFixed(0)} calls/s`,
    '2000 calls/s (target)',
    `${(perSecond / 2000).toFixed(2)}x target`,
  ]);

  // The stack's own capacity: one request signed by the SDK, replayed over keep-alive connections (a
  // signature stays valid for 15 minutes), so the SDK's client-side cost is not counted.
  let signed;
  cp.middlewareStack.add(
    (next) => async (args) => {
      signed ??= { headers: { ...args.request.headers }, body: args.request.body };
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: 'captureSigned' },
  );
  await cp.send(new PollForJobsCommand({ actionTypeId, maxBatchSize: 1 }));
  const url = new URL(stack.endpoints.codepipeline);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const replay = () =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: '/', method: 'POST', headers: signed.headers, agent },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(signed.body);
    });
  let raw = 0;
  const rawEnd = Date.now() + POLL_SECONDS * 1000;
  const rawStarted = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < rawEnd) {
        await replay();
        raw++;
      }
    }),
  );
  agent.destroy();
  const rawPerSecond = raw / ((Date.now() - rawStarted) / 1000);
  rows.push([
    'PollForJobs, signed request replayed (stack only)',
    `${rawPerSecond.toFixed(0)} calls/s`,
    '2000 calls/s (target)',
    `${(rawPerSecond / 2000).toFixed(2)}x target`,
  ]);

  // Artifacts: the same bytes through the stack vs straight file copies on the same disk.
  const src = join(dir, 'src.bin');
  writeFileSync(src, randomBytes(SIZE_MB * 1024 * 1024));
  const copy = async (to) =>
    pipeline(createReadStream(src, { highWaterMark: 1 << 20 }), createWriteStream(to));
  const time = async (fn) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  await copy(join(dir, 'warm.bin'));
  const diskWrite = Math.min(
    await time(() => copy(join(dir, 'a.bin'))),
    await time(() => copy(join(dir, 'b.bin'))),
  );

  const s3 = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 1 });
  const put = () =>
    new Upload({
      client: s3,
      partSize: 16 * 1024 * 1024,
      queueSize: 4,
      params: {
        Bucket: stack.artifactBucket,
        Key: 'bench/big.bin',
        Body: createReadStream(src),
        ServerSideEncryption: 'aws:kms',
      },
    }).done();
  await put();
  const stackPut = Math.min(await time(put), await time(put));

  const get = async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket: stack.artifactBucket, Key: 'bench/big.bin' }));
    await pipeline(r.Body, createWriteStream(join(dir, 'got.bin')));
  };
  await get();
  const stackGet = Math.min(await time(get), await time(get));
  const mbps = (s) => `${(SIZE_MB / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`;
  rows.push([
    `Artifact PUT ${SIZE_MB} MiB (lib-storage Upload, SSE-KMS)`,
    mbps(stackPut),
    `${mbps(diskWrite)} file copy`,
    `${(stackPut / diskWrite).toFixed(2)}x disk time`,
  ]);
  rows.push([
    `Artifact GET ${SIZE_MB} MiB (GetObject -> file)`,
    mbps(stackGet),
    `${mbps(diskWrite)} file copy`,
    `${(stackGet / diskWrite).toFixed(2)}x disk time`,
  ]);
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}

const header = ['Benchmark', 'Result', 'Baseline', 'Ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(
  [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'),
);
