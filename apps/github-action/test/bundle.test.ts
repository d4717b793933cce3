import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import findingPlugin from './fixtures/finding-plugin.mjs';
import { startPipeline, waitForExecution } from './stack.mjs';

// The built bundle as the runner runs it: a real process with INPUT_* and GITHUB_* variables and the file
// commands in a temporary folder, against the local stack, under Node 20 (this Node) and Node 24.
const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixturePlugin = join(app, 'test/fixtures/finding-plugin.mjs');
const SECRET_TOKEN = 'fixture-token-0123456789';
// This file's own build of the bundle: the suite runs on Node 20 and on the action's Node 24 in parallel, and
// a rebuild of dist/ by one run would delete the bundle the other is running.
const bundle = mkdtempSync(join(tmpdir(), 'pw-action-bundle-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  files: { output: string; summary: string; state: string };
  dir: string;
}

type NodeCommand = { cmd: string; args: string[] };

function runBundle(
  node: NodeCommand,
  entry: string,
  env: Record<string, string>,
  started?: (child: ReturnType<typeof spawn>, files: Run['files'], dir: string) => void,
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'pipewright-action-'));
  const files = { output: join(dir, 'output'), summary: join(dir, 'summary'), state: join(dir, 'state') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  mkdirSync(join(dir, 'workspace'));
  mkdirSync(join(dir, 'temp'));
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_WORKSPACE: join(dir, 'workspace'),
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '3',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: join(dir, 'temp'),
    RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(node.cmd, [...node.args, join(bundle, entry)], {
      env: { ...base, ...env },
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    started?.(child, files, dir);
    child.on('close', (code) => {
      const read = (f: string) => readFileSync(f, 'utf8');
      resolve({
        code,
        stdout,
        stderr,
        dir,
        files: { output: read(files.output), summary: read(files.summary), state: read(files.state) },
      });
    });
  });
}

/** Parses a GITHUB_OUTPUT / GITHUB_STATE file (`name<<delimiter` blocks); the last value of a name wins. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    out[m[1]!] = value.join('\n');
  }
  return out;
}

function inputs(stack: LocalStack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    INPUT_PLUGINS: `@pipewright/plugin-shell\n${fixturePlugin}`,
    INPUT_REGION: stack.region,
    INPUT_MODE: 'drain',
    INPUT_CONCURRENCY: '2',
    INPUT_ENDPOINT: stack.endpoints.codepipeline,
    'INPUT_S3-ENDPOINT': stack.endpoints.s3,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    ...extra,
  };
}

const node20: NodeCommand = { cmd: process.execPath, args: [] };
// Node 24 from npm (`npx -y -p node@24 node`), run by its binary's path: npx starts commands through a
// shell, which drops variables whose names are not identifiers, such as INPUT_S3-ENDPOINT.
const node24: NodeCommand = { cmd: 'node24-not-found', args: [] };

let node24Problem: string | undefined;
let stack: LocalStack;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(app, 'build.mjs'), '--outdir', bundle], {
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`the bundle did not build:\n${build.stdout}${build.stderr}`);
  const probe = spawnSync(
    'npx',
    ['-y', '-p', 'node@24', 'node', '-p', 'process.version + " " + process.execPath'],
    {
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  const [version, path] = probe.stdout.trim().split(' ');
  if (probe.status === 0 && version?.startsWith('v24.') && path) node24.cmd = path;
  else {
    node24Problem = `Node 24 is not available through npx -y -p node@24 (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  }
  stack = await startLocalStack();
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(bundle, { recursive: true, force: true });
});

describe.each([
  ['Node 20', node20],
  ['Node 24', node24],
])('the bundle on %s', (label, node) => {
  const skip = () => {
    if (label === 'Node 24' && node24Problem) {
      console.warn(`skipping the Node 24 run: ${node24Problem}`);
      return true;
    }
    return false;
  };

  it('processes a pipeline: outputs, step summary, grouped logs, annotations, external execution id', async (ctx) => {
    if (skip()) return ctx.skip();
    const pipeline = await startPipeline(stack, {
      actions: [
        { name: 'Hello', configuration: { Command: 'echo "hello $PIPEWRIGHT_ACTION"' } },
        { name: 'Broken', configuration: { Command: 'echo "about to fail" && exit 3' } },
        { name: 'Lint', plugin: findingPlugin, configuration: { Token: SECRET_TOKEN, Rule: 'no-unused' } },
      ],
    });
    const run = await runBundle(node, 'index.js', inputs(stack));
    expect(run.code, run.stdout + run.stderr).toBe(0);

    const outputs = parseFileCommands(run.files.output);
    expect(outputs).toMatchObject({ succeeded: '2', failed: '1', 'handed-off': '0' });
    const jobs = JSON.parse(outputs.jobs!) as {
      actionName: string;
      status: string;
      externalExecutionId?: string;
    }[];
    expect(jobs.map((j) => `${j.actionName}:${j.status}`).sort()).toEqual([
      'Broken:failed',
      'Hello:succeeded',
      'Lint:succeeded',
    ]);
    for (const job of jobs) expect(job.externalExecutionId).toBe('acme/app/actions/runs/4242/attempts/3');

    // One table row per job, written once.
    expect(run.files.summary.match(/<h2>pipewright job worker<\/h2>/g)).toHaveLength(1);
    expect(run.files.summary).toContain('<th>Pipeline</th><th>Stage</th><th>Action</th><th>Result</th>');
    for (const name of ['Hello', 'Broken', 'Lint']) {
      expect(run.files.summary).toContain(`<td>${pipeline.name}</td><td>Build</td><td>${name}</td>`);
    }

    // Every job in its own group; tool output cannot issue workflow commands.
    expect(run.stdout.match(/^::group::/gm)).toHaveLength(3);
    expect(run.stdout.match(/^::endgroup::/gm)).toHaveLength(3);
    expect(run.stdout).toMatch(/^::group::.*Hello: succeeded in /m);
    expect(run.stdout).toMatch(/^hello Hello/m);
    expect(run.stdout).toMatch(/^::stop-commands::[0-9a-f-]{36}$/m);
    // Findings with file and line became annotations, outside the stop-commands block.
    expect(run.stdout).toMatch(/^::warning file=src\/app.ts,line=12,col=5::no-unused: unused variable$/m);
    expect(run.stdout).toMatch(
      /^::error file=src\/util.ts,line=3::no-unused: ::set-output name=x::injected$/m,
    );
    expect(run.stdout).toMatch(/^::warning::.*Broken failed: the command exited with code 3/m);

    // The post step's state: the job folder, no job left running.
    const state = parseFileCommands(run.files.state);
    expect(state['pipewright-active']).toBe('[]');
    expect(state['pipewright-workspace']).toContain(join(run.dir, 'temp', 'pipewright-'));

    const execution = await waitForExecution(stack, pipeline.name, pipeline.executionId);
    expect(execution.status).toBe('Failed');
    const hello = execution.actions.find((a) => a.actionName === 'Hello');
    expect(hello?.output?.executionResult?.externalExecutionId).toBe('acme/app/actions/runs/4242/attempts/3');
  });

  it('masks every credential and secret: no value appears in stdout outside ::add-mask::', async (ctx) => {
    if (skip()) return ctx.skip();
    await startPipeline(stack, {
      actions: [{ name: 'Lint', plugin: findingPlugin, configuration: { Token: SECRET_TOKEN, Rule: 'r1' } }],
    });
    const env = inputs(stack, { AWS_SESSION_TOKEN: 'session-token-abcdefghijklmnop' });
    const run = await runBundle(node, 'index.js', env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const masked = [...run.stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1]!);
    // The environment's credentials, the job's artifact credentials (key id, secret, session token), the
    // plugin's secret configuration value.
    expect(masked).toEqual(
      expect.arrayContaining([
        stack.credentials.accessKeyId,
        stack.credentials.secretAccessKey,
        'session-token-abcdefghijklmnop',
        SECRET_TOKEN,
      ]),
    );
    expect(masked.filter((m) => m.startsWith('ASIA')).length).toBeGreaterThanOrEqual(1);
    const rest = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const secret of masked) expect(rest).not.toContain(secret);
    for (const text of [run.files.output, run.files.summary]) {
      for (const secret of masked) expect(text).not.toContain(secret);
    }
    expect(rest).toContain('checking with token ***');
    // Masked before first use: every ::add-mask:: of a job's secret comes before that job's group.
    expect(run.stdout.indexOf(`::add-mask::${SECRET_TOKEN}`)).toBeLessThan(run.stdout.indexOf('::group::'));
  });

  it('fails with a clear ::error:: line on invalid inputs, before touching AWS', async (ctx) => {
    if (skip()) return ctx.skip();
    const run = await runBundle(node, 'index.js', {
      INPUT_MODE: 'forever',
      INPUT_CONCURRENCY: '0',
      INPUT_ENDPOINT: 'localhost:1',
      AWS_SECRET_ACCESS_KEY: 'a-secret-that-must-not-show',
    });
    expect(run.code).not.toBe(0);
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::'));
    expect(error).toMatch(/^::error::4 inputs are invalid:%0A {2}- region: no region given/);
    expect(error).toContain('mode: "forever" is not a mode');
    expect(error).toContain('concurrency: "0" is not a whole number from 1 to 64');
    expect(error).toContain('endpoint: "localhost:1" is not an http(s) URL');
    expect(run.stdout).toContain('::add-mask::a-secret-that-must-not-show');
    expect(run.files.output).toBe('');
  });

  it('post step: reports jobs still running and removes the job folder', async (ctx) => {
    if (skip()) return ctx.skip();
    const folder = mkdtempSync(join(tmpdir(), 'pipewright-post-'));
    writeFileSync(join(folder, 'leftover'), 'x');
    const job = {
      jobId: 'j-1',
      pipelineName: 'p',
      stageName: 'Build',
      actionName: 'Slow',
      actionType: 'x',
      continuation: false,
    };
    const run = await runBundle(node, 'post.js', {
      'STATE_pipewright-workspace': folder,
      'STATE_pipewright-active': JSON.stringify([job]),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^::warning::p \/ Build \/ Slow \(job j-1\) was still running when the worker stopped/m,
    );
    expect(existsSync(folder)).toBe(false);
    rmSync(run.dir, { recursive: true, force: true });
  });
});

describe('cancellation (Node 20)', () => {
  it('SIGINT stops the worker gracefully: the running job is reported, outputs and summary are written', async () => {
    const pipeline = await startPipeline(stack, {
      actions: [{ name: 'Slow', configuration: { Command: 'echo started; sleep 60' } }],
    });
    const t0 = Date.now();
    let signalledAt = 0;
    const run = await runBundle(
      node20,
      'index.js',
      inputs(stack, { INPUT_PLUGINS: '@pipewright/plugin-shell' }),
      (child, files) => {
        // As the runner cancels: SIGINT once the job runs (the state file names it).
        const timer = setInterval(() => {
          if (/"actionName":"Slow"/.test(readFileSync(files.state, 'utf8'))) {
            clearInterval(timer);
            signalledAt = Date.now();
            child.kill('SIGINT');
          }
        }, 50);
        child.on('close', () => clearInterval(timer));
      },
    );
    expect(signalledAt).toBeGreaterThan(0);
    // Within the grace the action gives jobs (5 s), well before the runner's SIGTERM (7.5 s).
    expect(Date.now() - signalledAt).toBeLessThan(7_500);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const outputs = parseFileCommands(run.files.output);
    expect(Number(outputs.failed) + Number(outputs['handed-off'])).toBe(1);
    expect(run.stdout).toMatch(/^::group::.* Slow: (failed|handed-off) in /m);
    expect(run.files.summary).toContain('<td>Slow</td>');
    expect(parseFileCommands(run.files.state)['pipewright-active']).toBe('[]');
    const execution = await waitForExecution(stack, pipeline.name, pipeline.executionId, 5_000);
    const slow = execution.actions.find((a) => a.actionName === 'Slow');
    expect(slow?.status).not.toBe('InProgress');
  });
});
