import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ActionResult, AnyPlugin, JsonValue, PipelineContext } from '@pipewright/core';
import { createMemoryLogger, type LogRecord, Masker, runAction } from '@pipewright/runtime';

/** A fixture input artifact: a folder to copy, or files to write (path → content). */
export type FixtureArtifact = string | Record<string, string | Uint8Array>;

export interface RunActionTestOptions {
  /** Configuration as a pipeline would hold it; numbers and booleans are turned into strings as AWS does. */
  config?: Record<string, string | number | boolean>;
  /** Input artifacts by name. */
  inputs?: Record<string, FixtureArtifact>;
  /** Output artifact names. */
  outputs?: string[];
  continuation?: JsonValue;
  pipeline?: Partial<PipelineContext>;
  /** Abort the run after this many milliseconds. */
  timeoutMs?: number;
  /** Environment the wrapped tools inherit. Default process.env (minus credentials, as in the worker). */
  env?: NodeJS.ProcessEnv;
}

export interface ActionRun {
  result: ActionResult;
  /** Output artifact folders by name, left in place for assertions until `cleanup()`. */
  outputs: Record<string, string>;
  /** Everything the plugin and its tools logged, masked as the worker would. */
  logs: LogRecord[];
  /** The checkpoints the plugin recorded. */
  checkpoints: JsonValue[];
  workspace: string;
  cleanup(): Promise<void>;
}

async function materialise(artifact: FixtureArtifact, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (typeof artifact === 'string') {
    // verbatimSymlinks keeps links as links, as an extracted artifact has them.
    await cp(artifact, dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return;
  }
  for (const [path, content] of Object.entries(artifact)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/**
 * Runs a plugin's custom action the way the worker does, minus AWS: fixture inputs in a temporary workspace,
 * configuration validated by the plugin's schema, the result cut to CodePipeline's limits and masked.
 */
export async function runPluginAction(
  plugin: AnyPlugin,
  options: RunActionTestOptions = {},
): Promise<ActionRun> {
  const workspace = await mkdtemp(join(tmpdir(), 'pipewright-test-'));
  const inputs: Record<string, string> = {};
  for (const [name, artifact] of Object.entries(options.inputs ?? {})) {
    inputs[name] = join(workspace, 'inputs', name);
    await materialise(artifact, inputs[name]);
  }
  const outputs: Record<string, string> = {};
  for (const name of options.outputs ?? []) {
    outputs[name] = join(workspace, 'outputs', name);
    await mkdir(outputs[name], { recursive: true });
  }
  const scratch = join(workspace, 'scratch');
  await mkdir(scratch);
  const masker = new Masker();
  const { logger, records } = createMemoryLogger({ masker, fields: { plugin: plugin.name } });
  const checkpoints: JsonValue[] = [];
  const signal =
    options.timeoutMs === undefined ? new AbortController().signal : AbortSignal.timeout(options.timeoutMs);
  const result = await runAction({
    plugin,
    configuration: Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [k, String(v)])),
    inputs,
    outputs,
    workspace: scratch,
    continuation: options.continuation,
    pipeline: {
      jobId: '00000000-0000-4000-8000-000000000000',
      accountId: '111122223333',
      pipelineName: 'test-pipeline',
      stageName: 'Test',
      actionName: 'TestAction',
      actionExecutionId: undefined,
      pipelineExecutionId: undefined,
      pipelineArn: undefined,
      ...options.pipeline,
    },
    signal,
    logger,
    masker,
    baseEnv: options.env,
    onCheckpoint: (state) => checkpoints.push(state),
  });
  return {
    result,
    outputs,
    logs: records,
    checkpoints,
    workspace,
    cleanup: () => rm(workspace, { recursive: true, force: true }),
  };
}
