// The action's peak RSS over one real job, as a runner would see it: the bundle serves a pipeline on the
// local stack whose shell action moves a 256 MiB, 20,000-file tree. Three kinds of job:
//   - 'fetch': the tree is the input artifact, and there is no output (fetch + extract);
//   - 'upload': a one-file input, a command that copies the tree in, and the folder as the output (zip +
//     upload; the copy is the command's own process);
//   - 'both': the tree in, and the same folder out (fetch + extract, the command, zip + upload).
// The peak is read from /proc/<pid>/status (VmHWM), so this part runs on Linux only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { actionTypeId, createCustomActionTypeInput } from '@pipewright/core';
import { localFolderSource, startLocalStack } from '@pipewright/local';
import { shellBuild } from '@pipewright/plugin-shell';
import { generateTree } from '../../../scripts/bench-tree.mjs';
import { runnerEnv } from './runner.mjs';

const FILES = 20_000;
const BYTES = 256 * 1024 * 1024;

export const canMeasureJobMemory = () => existsSync('/proc/self/status');

/** Starts a stack and a tree once; `run(nodePath, kind)` then runs one job with a fresh pipeline. */
export async function jobMemoryBench(app) {
  const dir = mkdtempSync(join(tmpdir(), 'pipewright-job-bench-'));
  const tree = join(dir, 'tree');
  generateTree(tree, FILES, BYTES);
  const small = join(dir, 'small');
  mkdirSync(small);
  writeFileSync(join(small, 'README'), 'the tree is copied in by the command\n');
  const stack = await startLocalStack();
  const cp = new CodePipelineClient(stack.clientConfig('codepipeline'));
  await cp.send(new CreateCustomActionTypeCommand(createCustomActionTypeInput(shellBuild)));
  const t = shellBuild.action;
  let n = 0;

  async function run(nodePath, kind = 'both') {
    const name = `job-memory-${n++}`;
    const input = kind === 'upload' ? small : tree;
    // `cp -R tree/. .` copies the tree's content into the job's folder, which the shell action uploads.
    const command = kind === 'upload' ? `cp -R '${tree}/.' .` : 'true';
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name,
          roleArn: `arn:aws:iam::${stack.accountId}:role/bench`,
          artifactStore: { type: 'S3', location: stack.artifactBucket },
          stages: [
            { name: 'Source', actions: [localFolderSource(input, { output: 'Src' })] },
            {
              name: 'Build',
              actions: [
                {
                  name: 'Build',
                  actionTypeId: actionTypeId(shellBuild),
                  configuration: { Command: command },
                  inputArtifacts: [{ name: 'Src' }],
                  ...(kind === 'fetch' ? {} : { outputArtifacts: [{ name: 'Out' }] }),
                },
              ],
            },
          ],
        },
      }),
    );
    const { pipelineExecutionId } = await cp.send(new StartPipelineExecutionCommand({ name }));
    // The source action zips the tree asynchronously; the worker starts once the build job waits.
    while (![...stack.state.codepipeline.jobs.values()].some((j) => j.status === 'Queued')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const runDir = join(dir, name);
    mkdirSync(runDir);
    const started = performance.now();
    const peakKiB = await new Promise((resolve, reject) => {
      const child = spawn(nodePath, [join(app, 'dist/index.js')], {
        cwd: runDir,
        stdio: 'ignore',
        env: {
          ...runnerEnv(runDir),
          GITHUB_ACTIONS: 'true',
          GITHUB_REPOSITORY: 'acme/app',
          GITHUB_RUN_ID: '1',
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_SERVER_URL: 'https://github.com',
          AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          INPUT_PLUGINS: '@pipewright/plugin-shell',
          'INPUT_ACTION-TYPES': `${t.category}/${t.provider}/${t.version}`,
          INPUT_REGION: stack.region,
          INPUT_ENDPOINT: stack.endpoints.codepipeline,
          'INPUT_S3-ENDPOINT': stack.endpoints.s3,
          INPUT_MODE: 'drain',
        },
      });
      let peak = 0;
      // VmHWM only grows, so the last reading before the exit is the peak (to within 50 ms of the end).
      const timer = setInterval(() => {
        try {
          const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/);
          if (m) peak = Math.max(peak, Number(m[1]));
        } catch {}
      }, 50);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearInterval(timer);
        if (code !== 0) reject(new Error(`the action exited with ${code}`));
        else resolve(peak);
      });
    });
    const seconds = (performance.now() - started) / 1000;
    const { pipelineExecution } = await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId }),
    );
    if (pipelineExecution?.status !== 'Succeeded') {
      throw new Error(`the job's execution ended ${pipelineExecution?.status}`);
    }
    rmSync(runDir, { recursive: true, force: true });
    return { peakMiB: peakKiB / 1024, seconds };
  }

  return {
    run,
    async close() {
      cp.destroy();
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
