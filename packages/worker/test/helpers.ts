import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActionDeclaration,
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { type AnyPlugin, createCustomActionTypeInput } from '@pipewright/core';
import {
  type LocalStack,
  type LocalStackOptions,
  localFolderSource,
  startLocalStack,
} from '@pipewright/local';
import { createMemoryLogger } from '@pipewright/runtime';
import type { WorkerOptions } from '../src/index.js';

export interface Harness {
  stack: LocalStack;
  cp: CodePipelineClient;
  tmp: string;
  register(plugin: AnyPlugin): Promise<void>;
  pipeline(name: string, stages: { name: string; actions: ActionDeclaration[] }[]): Promise<void>;
  start(name: string): Promise<string>;
  waitFor(name: string, executionId: string, timeoutMs?: number): Promise<string>;
  actions(name: string, executionId: string): ReturnType<typeof listActions>;
  workerOptions(
    extra?: Partial<WorkerOptions>,
  ): WorkerOptions & { logs: ReturnType<typeof createMemoryLogger>['records'] };
  close(): Promise<void>;
}

async function listActions(cp: CodePipelineClient, pipelineName: string, executionId: string) {
  const out = await cp.send(
    new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId } }),
  );
  return out.actionExecutionDetails ?? [];
}

export const sourceAction = (path: string, output = 'SourceOutput'): ActionDeclaration =>
  localFolderSource(path, { output });

export const customAction = (
  plugin: AnyPlugin,
  name: string,
  configuration: Record<string, string>,
  io: { inputs?: string[]; outputs?: string[] } = {},
): ActionDeclaration => ({
  name,
  actionTypeId: {
    category: plugin.action!.category,
    owner: 'Custom',
    provider: plugin.action!.provider,
    version: plugin.action!.version,
  },
  configuration,
  inputArtifacts: (io.inputs ?? []).map((n) => ({ name: n })),
  outputArtifacts: (io.outputs ?? []).map((n) => ({ name: n })),
});

export async function harness(options: LocalStackOptions = {}): Promise<Harness> {
  const stack = await startLocalStack(options);
  const cp = new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 10 });
  const tmp = await mkdtemp(join(tmpdir(), 'pipewright-worker-test-'));
  const registered = new Set<string>();
  return {
    stack,
    cp,
    tmp,
    async register(plugin) {
      const input = createCustomActionTypeInput(plugin);
      const key = `${input.category}/${input.provider}/${input.version}`;
      if (registered.has(key)) return;
      registered.add(key);
      await cp.send(new CreateCustomActionTypeCommand(input as never));
    },
    async pipeline(name, stages) {
      await cp.send(
        new CreatePipelineCommand({
          pipeline: {
            name,
            roleArn: `arn:aws:iam::${stack.accountId}:role/pipewright-local`,
            artifactStore: { type: 'S3', location: stack.artifactBucket },
            stages,
          },
        }),
      );
    },
    async start(name) {
      const out = await cp.send(new StartPipelineExecutionCommand({ name }));
      return out.pipelineExecutionId!;
    },
    async waitFor(name, executionId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const out = await cp.send(
          new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId: executionId }),
        );
        const status = out.pipelineExecution?.status ?? 'Unknown';
        if (status !== 'InProgress') return status;
        if (Date.now() > deadline) throw new Error(`execution ${executionId} of ${name} still ${status}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    actions: (name, id) => listActions(cp, name, id),
    workerOptions(extra = {}) {
      const { logger, records } = createMemoryLogger({ level: 'debug' });
      return {
        plugins: [],
        region: stack.region,
        endpoint: stack.endpoints.codepipeline,
        s3Endpoint: stack.endpoints.s3,
        credentials: stack.credentials,
        mode: 'serve',
        pollIntervalMs: 20,
        workspaceDir: join(tmp, 'workspaces'),
        logger,
        logs: records,
        ...extra,
      };
    },
    async close() {
      cp.destroy();
      await stack.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
