#!/usr/bin/env node
// Benchmarks of the Lambda host: cold start of the built bundle against `node -e 0`, bundle size with and
// without the AWS SDK, and the dispatch overhead on a 2 MB configuration. Prints a table; exits 0 either way
// (the numbers are for reading; the targets are marked).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { definePlugin, z } from '@pipewright/core';
import { createExtensionHost } from '@pipewright/extension-host';
import { buildLambda } from '../build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 21);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const best = (xs) => Math.min(...xs);
const ms = (n) => `${n.toFixed(1)} ms`;
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

function timeProcess(args, env = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return elapsed;
}

/**
 * An S3 endpoint that accepts every PutObject: the s3-backup measure is about the client's cost (loading the S3
 * client, signing, sending), not a server's.
 */
async function acceptingS3() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { ETag: '"bench"' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Milliseconds of the first invocation of a fresh process, which imports the bundle and calls the handler once. */
async function firstInvocation(bundle, event, env) {
  const script = `const { handler } = await import(${JSON.stringify(bundle)});
const t = performance.now();
const response = await handler(${JSON.stringify(event)});
process.stdout.write(JSON.stringify({ ms: performance.now() - t, response }));`;
  // Asynchronous: the S3 endpoint answers from this process.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
  });
  const { ms, response } = JSON.parse(stdout);
  if (response !== null) throw new Error(`the first invocation failed: ${JSON.stringify(response)}`);
  return ms;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'pipewright-bench-'));
  try {
    const entry = join(root, 'src/main.ts');
    const full = await buildLambda({ entry, outdir: join(dir, 'full') });
    const noSdk = await buildLambda({
      entry,
      outdir: join(dir, 'nosdk'),
      external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
    });
    // PW_BENCH_BUNDLE times another build of the handler (e.g. an older one, for a before/after).
    const built = process.env.PW_BENCH_BUNDLE ?? join(root, 'dist/lambda/index.mjs');
    const bundle = existsSync(built) ? built : full.outfile;

    // Cold start: a fresh Node process that imports the bundle (which builds the handler and the host), against
    // a fresh Node process doing nothing. Interleaved, so machine noise hits both alike.
    const bare = [];
    const loaded = [];
    const firstCall = [];
    const firstBackup = [];
    const preStart = (parameters) => ({
      Type: 'PreStartDeployment',
      InvocationId: 'b',
      Application: { Id: 'a' },
      ConfigurationProfile: { Id: 'p' },
      Environment: { Id: 'e' },
      DeploymentNumber: 1,
      Content: Buffer.from('{"port":1}').toString('base64'),
      Parameters: parameters,
    });
    const s3 = await acceptingS3();
    const s3Env = {
      PIPEWRIGHT_PLUGINS: 's3-backup',
      PIPEWRIGHT_PARAM_S3_BUCKET: 'backups',
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
    };
    try {
      for (let i = 0; i < runs + 2; i++) {
        const a = timeProcess(['-e', '0']);
        // The bundle as the entry module: Node loads it, and its top level builds the handler and the host.
        const b = timeProcess([bundle], { PIPEWRIGHT_PLUGINS: 'json-schema' });
        const c = await firstInvocation(
          bundle,
          preStart({ Schema: '{"type":"object","properties":{"port":{"type":"integer"}}}' }),
          { PIPEWRIGHT_PLUGINS: 'json-schema' },
        );
        const d = await firstInvocation(bundle, preStart({}), s3Env);
        if (i < 2) continue; // warm the file system cache
        bare.push(a);
        loaded.push(b);
        firstCall.push(c);
        firstBackup.push(d);
      }
    } finally {
      s3.close();
    }
    const baseline = median(bare);
    const coldStart = median(loaded) - baseline;
    const coldStartBest = best(loaded) - best(bare);

    // Dispatch overhead: a 2 MB configuration through a pass-through plugin, parsed, dispatched, answered.
    const pass = definePlugin({
      name: 'pass-through',
      version: '0.0.0',
      description: 'Returns nothing.',
      config: z.object({}),
      extension: { name: 'pass-through', handlers: { PRE_START_DEPLOYMENT: () => undefined } },
    });
    const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
    const host = createExtensionHost({ plugins: [pass], logger: quiet });
    const content = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < content.length; i++) content[i] = 32 + (i % 90);
    const event = {
      Type: 'PreStartDeployment',
      InvocationId: 'bench',
      Parameters: {},
      Application: { Id: 'app' },
      Environment: { Id: 'env' },
      ConfigurationProfile: { Id: 'prof' },
      DeploymentNumber: 1,
      ContentType: 'application/json',
      Content: content.toString('base64'),
    };
    const dispatch = [];
    for (let i = 0; i < runs + 5; i++) {
      const t = performance.now();
      const response = await host.handle(event);
      const elapsed = performance.now() - t;
      if (response !== null) throw new Error('pass-through changed the content');
      if (i >= 5) dispatch.push(elapsed);
    }
    const dispatchMs = median(dispatch);
    const dispatchBest = best(dispatch);

    const rows = [
      [
        'Cold start (import + init) over node -e 0',
        `${ms(coldStart)} (best ${ms(coldStartBest)})`,
        '<= 60 ms',
        `node -e 0: ${ms(baseline)} (best ${ms(best(bare))})`,
        coldStartBest <= 60,
      ],
      [
        'First invocation after init (json-schema: loads ajv, compiles)',
        `${ms(median(firstCall))} (best ${ms(best(firstCall))})`,
        '-',
        '-',
        true,
      ],
      [
        'First invocation after init (s3-backup: loads S3 client, puts)',
        `${ms(median(firstBackup))} (best ${ms(best(firstBackup))})`,
        '-',
        '-',
        true,
      ],
      [
        'Bundle, minified, without AWS SDK clients',
        kb(noSdk.bundleBytes),
        '<= 300 KB',
        '-',
        noSdk.bundleBytes <= 300 * 1024,
      ],
      ['Bundle, minified, with AWS SDK (S3)', kb(full.bundleBytes), '-', `zip: ${kb(full.zipBytes)}`, true],
      [
        'Dispatch of a 2 MB configuration (pass-through)',
        `${ms(dispatchMs)} (best ${ms(dispatchBest)})`,
        '<= 10 ms',
        '-',
        dispatchBest <= 10,
      ],
    ];
    const header = ['Measure', 'Result', 'Target', 'Baseline', 'Met'];
    const table = [header, ...rows.map((r) => [r[0], r[1], r[2], r[3], r[4] ? 'yes' : 'NO'])];
    const widths = header.map((_, c) => Math.max(...table.map((r) => String(r[c]).length)));
    const line = (r) => `| ${r.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
    console.log(
      `@pipewright/lambda-host benchmarks (Node ${process.version}, ${runs} runs: median, and best as the least disturbed by other load; targets judged on best)\n`,
    );
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of table.slice(1)) console.log(line(r));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
