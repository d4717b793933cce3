#!/usr/bin/env node
// The demo behind `pnpm start`: a local AWS stack, the shell action types registered, a three-stage
// pipeline over the bundled example project, and a pipewright worker draining the queue, with the
// execution's progress printed as it happens. Runs from the built packages (pnpm build first).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { createCustomActionTypeInput } from '@pipewright/core';
import { startLocalStack } from '@pipewright/local';
import { shellBuild, shellTest } from '@pipewright/plugin-shell';
import { createLogger } from '@pipewright/runtime';
import { createWorker } from '@pipewright/worker';

// The SDK's notice about future Node versions is noise in a demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const here = dirname(fileURLToPath(import.meta.url));
const project = join(here, 'example-project');
const verbose = process.argv.includes('--verbose');
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const STATUS = {
  InProgress: paint('33', '…'),
  Succeeded: paint('32', '✓'),
  Failed: paint('31', '✗'),
};
const say = (text = '') => process.stdout.write(`${text}\n`);
const indent = (text) =>
  text
    .trim()
    .split('\n')
    .map((l) => `      ${paint('2', l)}`)
    .join('\n');

const started = Date.now();
const stack = await startLocalStack();
const cp = new CodePipelineClient(stack.clientConfig('codepipeline'));
const workspaceDir = await mkdtemp(join(tmpdir(), 'pipewright-demo-'));
say(`${paint('1', 'pipewright demo')}: a CodePipeline custom action run by a local job worker`);
say(`  local CodePipeline ${stack.endpoints.codepipeline}, S3 ${stack.endpoints.s3}`);

try {
  for (const plugin of [shellBuild, shellTest]) {
    const input = createCustomActionTypeInput(plugin);
    await cp.send(new CreateCustomActionTypeCommand(input));
    say(`  registered action type Custom/${input.category}/${input.provider}/${input.version}`);
  }
  const type = ({ action }) => ({
    category: action.category,
    owner: 'Custom',
    provider: action.provider,
    version: action.version,
  });
  const pipelineName = 'greet';
  await cp.send(
    new CreatePipelineCommand({
      pipeline: {
        name: pipelineName,
        roleArn: `arn:aws:iam::${stack.accountId}:role/pipewright-demo`,
        artifactStore: { type: 'S3', location: stack.artifactBucket },
        stages: [
          {
            name: 'Source',
            actions: [
              {
                name: 'Checkout',
                actionTypeId: {
                  category: 'Source',
                  owner: 'ThirdParty',
                  provider: 'PipewrightLocalFolder',
                  version: '1',
                },
                configuration: { Path: project },
                outputArtifacts: [{ name: 'Source' }],
              },
            ],
          },
          {
            name: 'Build',
            actions: [
              {
                name: 'Assemble',
                actionTypeId: type(shellBuild),
                configuration: { Command: './build.sh', OutputDirectory: 'dist', TimeoutSeconds: '60' },
                inputArtifacts: [{ name: 'Source' }],
                outputArtifacts: [{ name: 'Dist' }],
              },
            ],
          },
          {
            name: 'Test',
            actions: [
              {
                name: 'Smoke',
                actionTypeId: type(shellTest),
                configuration: { Command: './test/test.sh', TimeoutSeconds: '60' },
                inputArtifacts: [{ name: 'Dist' }],
              },
            ],
          },
        ],
      },
    }),
  );
  say(`  created pipeline ${pipelineName}: Source (local folder) -> Build (shell) -> Test (shell)`);

  const logger = createLogger({
    level: verbose ? 'debug' : 'info',
    sink: (r) => {
      if (
        !verbose &&
        !['job started', 'job finished'].includes(r.msg) &&
        r.level !== 'warn' &&
        r.level !== 'error'
      )
        return;
      const where = r.stage ? ` ${r.stage}/${r.action}` : '';
      const extra = r.status ? ` ${r.status} in ${r.durationMs} ms` : '';
      process.stdout.write(`${paint('2', `    [worker] ${r.msg}${where}${extra}`)}\n`);
    },
  });
  const worker = createWorker({
    plugins: [shellBuild, shellTest],
    region: stack.region,
    endpoint: stack.endpoints.codepipeline,
    s3Endpoint: stack.endpoints.s3,
    credentials: stack.credentials,
    mode: 'drain',
    idleTimeoutMs: 5_000,
    pollIntervalMs: 100,
    concurrency: 2,
    workspaceDir,
    logger,
  });
  const { pipelineExecutionId } = await cp.send(new StartPipelineExecutionCommand({ name: pipelineName }));
  say(`  started execution ${pipelineExecutionId}`);
  say('  worker running (mode drain)');
  say();
  const run = worker.run();

  const seen = new Map();
  let status = 'InProgress';
  while (status === 'InProgress') {
    await new Promise((r) => setTimeout(r, 100));
    const { actionExecutionDetails = [] } = await cp.send(
      new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId } }),
    );
    for (const a of [...actionExecutionDetails].reverse()) {
      const key = `${a.stageName}/${a.actionName}`;
      if (seen.get(key) === a.status) continue;
      seen.set(key, a.status);
      say(`  ${STATUS[a.status] ?? '?'} ${key} ${a.status}`);
      const summary = a.output?.executionResult?.externalExecutionSummary;
      if (a.status !== 'InProgress' && summary) say(indent(summary));
    }
    const out = await cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }));
    status = out.pipelineExecution?.status ?? 'Unknown';
    if (status !== 'InProgress') {
      say();
      const line = `execution ${status}${out.pipelineExecution?.statusSummary ? `: ${out.pipelineExecution.statusSummary}` : ''}`;
      say(`  ${status === 'Succeeded' ? paint('32', line) : paint('31', line)}`);
    }
    if (Date.now() - started > 120_000) throw new Error('the demo pipeline did not finish within 2 minutes');
  }
  worker.stop('execution finished');
  const summary = await run;
  say(
    `  worker: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.inProgress} in progress, ` +
      `${summary.handedOff} handed off; ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
  );
  process.exitCode = status === 'Succeeded' ? 0 : 1;
} finally {
  cp.destroy();
  await stack.stop();
  await rm(workspaceDir, { recursive: true, force: true });
}
