#!/usr/bin/env node
// Worker overhead on the local stack: CPU time per no-op job and no-op jobs per second at concurrency 32,
// next to the bare SDK protocol (poll, acknowledge, report) measured in the same run. The stack runs in
// this process; the worker and the baseline run as child processes, so their CPU time is theirs alone.
// Usage: pnpm --filter @pipewright/worker bench [-- --jobs 2000]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { createCustomActionTypeInput } from '@pipewright/core';
import { localFolderSource, startLocalStack } from '@pipewright/local';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('jobs', 2000);
const CONCURRENCY = arg('concurrency', 32);
const PER_PIPELINE = 50;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const plugins = here('../test/fixtures/plugins.mjs');
const { noop } = await import(plugins);

const tmp = await mkdtemp(join(tmpdir(), 'pipewright-bench-'));
const t = noop.action;
let stack;
let cp;
/** A fresh stack per scenario: the local job table grows with every job, so scenarios must not share one. */
async function freshStack() {
  if (stack) {
    cp.destroy();
    await stack.stop();
  }
  // Signature checks off: the stack shares this machine's cores with the worker and should not be the bottleneck.
  stack = await startLocalStack({ verifySignatures: false });
  cp = new CodePipelineClient(stack.clientConfig('codepipeline'));
  if (process.env.BENCH_COUNT) {
    const decide = stack.faults.decide.bind(stack.faults);
    stack.counts = {};
    stack.faults.decide = (service, op) => {
      stack.counts[op] = (stack.counts[op] ?? 0) + 1;
      return decide(service, op);
    };
  }
  await cp.send(new CreateCustomActionTypeCommand(createCustomActionTypeInput(noop)));
}
const typeId = { category: t.category, owner: 'Custom', provider: t.provider, version: t.version };

let round = 0;
async function queueJobs(n) {
  round++;
  const pipelines = Math.ceil(n / PER_PIPELINE);
  for (let p = 0; p < pipelines; p++) {
    const name = `bench-${round}-${p}`;
    const count = Math.min(PER_PIPELINE, n - p * PER_PIPELINE);
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name,
          roleArn: `arn:aws:iam::${stack.accountId}:role/bench`,
          artifactStore: { type: 'S3', location: stack.artifactBucket },
          stages: [
            {
              name: 'Source',
              actions: [localFolderSource(tmp, { output: 'Src' })],
            },
            {
              name: 'Fan',
              actions: Array.from({ length: count }, (_, a) => ({
                name: `A${a}`,
                actionTypeId: typeId,
                configuration: {},
              })),
            },
          ],
        },
      }),
    );
    await cp.send(new StartPipelineExecutionCommand({ name }));
  }
  // Wait until every job is queued (the source actions run asynchronously).
  for (;;) {
    const queued = [...stack.state.codepipeline.jobs.values()].filter((j) => j.status === 'Queued').length;
    if (queued >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function child(args, env = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        PIPEWRIGHT_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args[0]} exited with ${code}`));
      const { jobs: _jobs, ...rest } = JSON.parse(out.trim().split('\n').pop());
      resolve(rest);
    });
  });
}

const rows = [];
const measure = (name, r, target) => {
  if (stack.counts) console.log(name, JSON.stringify(stack.counts));
  const perSecond = (r.succeeded / r.elapsedMs) * 1000;
  rows.push({
    scenario: name,
    jobs: r.succeeded,
    'wall s': (r.elapsedMs / 1000).toFixed(2),
    'jobs/s': perSecond.toFixed(0),
    'CPU ms/job': (r.cpuMs / r.succeeded).toFixed(2),
    target,
  });
};

try {
  await freshStack();
  await queueJobs(JOBS);
  measure(
    'baseline: bare SDK protocol',
    await child([
      here('./baseline.mjs'),
      stack.endpoints.codepipeline,
      stack.region,
      t.category,
      t.provider,
      t.version,
      String(CONCURRENCY),
    ]),
    '-',
  );
  await freshStack();
  await queueJobs(JOBS);
  const worker = await child([
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    here('../dist/bin.js'),
    '--plugin',
    plugins,
    '--action-type',
    `${t.category}/${t.provider}/${t.version}`,
    '--region',
    stack.region,
    '--endpoint',
    stack.endpoints.codepipeline,
    '--mode',
    'drain',
    '--concurrency',
    String(CONCURRENCY),
    '--workspace',
    join(tmp, 'ws'),
    '--summary',
  ]);
  measure(`pipewright worker, concurrency ${CONCURRENCY}`, worker, '>= 500 jobs/s, <= 2 ms CPU/job');
  console.log(`\nno-op jobs on the local stack (${process.version}, stack in the parent process)\n`);
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(width[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
  const w = rows[1];
  const ok = Number(w['jobs/s']) >= 500 && Number(w['CPU ms/job']) <= 2;
  console.log(
    `\n${ok ? 'within' : 'OUTSIDE'} target: ${w['jobs/s']} jobs/s, ${w['CPU ms/job']} ms CPU per job`,
  );
} finally {
  cp?.destroy();
  await stack?.stop();
  await rm(tmp, { recursive: true, force: true });
}
