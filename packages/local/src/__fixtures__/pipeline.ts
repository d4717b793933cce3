import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActionTypeId,
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  type Job,
  PollForJobsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { localFolderSource } from '../source-action.js';
import type { LocalStack } from '../stack.js';

export function codepipeline(stack: LocalStack): CodePipelineClient {
  return new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 1 });
}

export async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;

/** Registers a custom Build type and a two-stage pipeline (local folder source -> that type); starts it. */
export async function startDemo(
  stack: LocalStack,
  cp: CodePipelineClient,
  opts: { start?: boolean; executionMode?: 'PARALLEL' | 'QUEUED' | 'SUPERSEDED' } = {},
) {
  const n = ++counter;
  const provider = `Demo-${n}`;
  const actionTypeId: ActionTypeId = { category: 'Build', owner: 'Custom', provider, version: '1' };
  const folder = mkdtempSync(join(tmpdir(), 'pw-src-'));
  writeFileSync(join(folder, 'a.txt'), 'a');
  await cp.send(
    new CreateCustomActionTypeCommand({
      category: 'Build',
      provider,
      version: '1',
      configurationProperties: [{ name: 'Project', required: false, key: true, secret: false }],
      inputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
      outputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
    }),
  );
  const name = `demo-${n}`;
  await cp.send(
    new CreatePipelineCommand({
      pipeline: {
        name,
        roleArn: 'arn:aws:iam::123456789012:role/p',
        ...(opts.executionMode ? { executionMode: opts.executionMode, pipelineType: 'V2' as const } : {}),
        artifactStore: { type: 'S3', location: stack.artifactBucket },
        stages: [
          {
            name: 'Source',
            actions: [localFolderSource(folder, { output: 'Src', name: 'Src' })],
          },
          {
            name: 'Build',
            actions: [
              {
                name: 'Run',
                actionTypeId,
                inputArtifacts: [{ name: 'Src' }],
                outputArtifacts: [{ name: 'Out' }],
                namespace: `Run${n}`,
              },
            ],
          },
        ],
      },
    }),
  );
  const executionId =
    opts.start === false
      ? undefined
      : (await cp.send(new StartPipelineExecutionCommand({ name }))).pipelineExecutionId!;
  const poll = (max = 1): Promise<Job> =>
    until(async () => (await cp.send(new PollForJobsCommand({ actionTypeId, maxBatchSize: max }))).jobs?.[0]);
  return { actionTypeId, name, executionId, folder, poll };
}
