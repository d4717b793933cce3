#!/usr/bin/env node
// The local stack with a pipeline waiting for a worker: used by the action's tests, its benchmark and CI.
//
//   node test/stack.mjs start --detach [--jobs 2] [--state file]  start in the background; prints the
//       endpoints and credentials as step outputs (to GITHUB_OUTPUT when set, else stdout)
//   node test/stack.mjs check --state file     wait until the pipeline execution succeeded (exit 1 if not)
//   node test/stack.mjs stop --state file      stop the background stack
//
// The pipeline: a local folder source, then one Build stage with N shell actions that run in parallel.
// Uses the built packages (dist), as CI runs it after the build.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { createCustomActionTypeInput } from '@pipewright/core';
import { localFolderSource, startLocalStack } from '@pipewright/local';
import { shellBuild, shellTest } from '@pipewright/plugin-shell';

/** A CodePipeline client for the stack. */
export function codepipelineClient(stack) {
  return new CodePipelineClient({
    endpoint: stack.endpoints.codepipeline,
    region: stack.region,
    credentials: stack.credentials,
  });
}

let counter = 0;

async function register(stack, cp, plugin) {
  stack.__registered ??= new Set();
  const a = plugin.action;
  const key = `${a.category}/${a.provider}/${a.version}`;
  if (stack.__registered.has(key)) return;
  await cp.send(new CreateCustomActionTypeCommand(createCustomActionTypeInput(plugin)));
  stack.__registered.add(key);
}

/**
 * Registers the action types (both shell types always, so a worker serving "all" finds them), then creates
 * and starts a pipeline: a local folder source, then one stage whose actions run in parallel. `actions`:
 * `{ name, plugin?, configuration }` (plugin default: shell Build); or `jobs: n` shell actions.
 */
export async function startPipeline(stack, options = {}) {
  const cp = codepipelineClient(stack);
  for (const plugin of [shellBuild, shellTest]) await register(stack, cp, plugin);
  const actions =
    options.actions ??
    Array.from({ length: options.jobs ?? 2 }, (_, i) => ({
      name: `Shell-${i + 1}`,
      configuration: { Command: `echo "hello from action ${i + 1}" && ls` },
    }));
  for (const action of actions) if (action.plugin) await register(stack, cp, action.plugin);
  const folder = mkdtempSync(join(tmpdir(), 'pipewright-src-'));
  writeFileSync(join(folder, 'README.md'), '# a project\n');
  const name = options.name ?? `action-test-${process.pid}-${++counter}`;
  await cp.send(
    new CreatePipelineCommand({
      pipeline: {
        name,
        roleArn: `arn:aws:iam::${stack.accountId || '123456789012'}:role/pipeline`,
        artifactStore: { type: 'S3', location: stack.artifactBucket },
        stages: [
          {
            name: 'Source',
            actions: [localFolderSource(folder, { output: 'Src' })],
          },
          {
            name: 'Build',
            actions: actions.map((action) => {
              const a = (action.plugin ?? shellBuild).action;
              return {
                name: action.name,
                runOrder: 1,
                actionTypeId: {
                  category: a.category,
                  owner: 'Custom',
                  provider: a.provider,
                  version: a.version,
                },
                configuration: action.configuration,
                inputArtifacts: [{ name: 'Src' }],
              };
            }),
          },
        ],
      },
    }),
  );
  const { pipelineExecutionId } = await cp.send(new StartPipelineExecutionCommand({ name }));
  return { name, executionId: pipelineExecutionId, folder };
}

/** Waits for the execution to leave InProgress; returns its status and the action executions. */
export async function waitForExecution(stack, name, executionId, timeoutMs = 30_000) {
  const cp = codepipelineClient(stack);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { pipelineExecution } = await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId: executionId }),
    );
    const status = pipelineExecution?.status;
    if ((status && status !== 'InProgress') || Date.now() > end) {
      const { actionExecutionDetails } = await cp.send(
        new ListActionExecutionsCommand({ pipelineName: name, filter: { pipelineExecutionId: executionId } }),
      );
      return { status, actions: actionExecutionDetails ?? [] };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stepOutputs(state) {
  const lines = [
    `endpoint=${state.endpoints.codepipeline}`,
    `s3-endpoint=${state.endpoints.s3}`,
    `region=${state.region}`,
    `access-key-id=${state.credentials.accessKeyId}`,
    `secret-access-key=${state.credentials.secretAccessKey}`,
    `pipeline=${state.pipeline}`,
    `execution-id=${state.executionId}`,
  ];
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${lines.join('\n')}\n`);
  else console.log(lines.join('\n'));
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      detach: { type: 'boolean', default: false },
      jobs: { type: 'string', default: '2' },
      state: { type: 'string', default: join(tmpdir(), 'pipewright-stack.json') },
    },
  });
  const [command] = positionals;
  const readState = () => JSON.parse(readFileSync(values.state, 'utf8'));

  if (command === 'start' && values.detach) {
    rmSync(values.state, { force: true });
    const log = openSync(`${values.state}.log`, 'a');
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), 'start', '--jobs', values.jobs, '--state', values.state],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.unref();
    const end = Date.now() + 30_000;
    while (!existsSync(values.state)) {
      if (Date.now() > end || child.exitCode !== null) {
        console.error(readFileSync(`${values.state}.log`, 'utf8'));
        throw new Error('the local stack did not start');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    stepOutputs(readState());
    return;
  }
  if (command === 'start') {
    const stack = await startLocalStack();
    const { name, executionId } = await startPipeline(stack, { jobs: Number(values.jobs) });
    const state = {
      pid: process.pid,
      endpoints: stack.endpoints,
      region: stack.region,
      credentials: stack.credentials,
      pipeline: name,
      executionId,
    };
    writeFileSync(`${values.state}.tmp`, JSON.stringify(state));
    // Written whole, then renamed: a reader never sees half a file.
    const { renameSync } = await import('node:fs');
    renameSync(`${values.state}.tmp`, values.state);
    console.log(`local stack ready: ${JSON.stringify(stack.endpoints)}, pipeline ${name}`);
    const stop = async () => {
      await stack.stop();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  if (command === 'check') {
    const state = readState();
    const stack = { ...state, accountId: '' };
    const result = await waitForExecution(stack, state.pipeline, state.executionId);
    for (const a of result.actions) {
      console.log(
        `${a.stageName}/${a.actionName}: ${a.status} ${a.output?.executionResult?.externalExecutionSummary ?? ''}`,
      );
    }
    if (result.status !== 'Succeeded') {
      console.error(`pipeline ${state.pipeline} execution ${state.executionId}: ${result.status}`);
      process.exit(1);
    }
    console.log(`pipeline ${state.pipeline} execution ${state.executionId}: Succeeded`);
    return;
  }
  if (command === 'stop') {
    if (!existsSync(values.state)) return;
    const { pid } = readState();
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    rmSync(values.state, { force: true });
    return;
  }
  console.error('usage: node test/stack.mjs <start [--detach] [--jobs N]|check|stop> [--state file]');
  process.exit(2);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
