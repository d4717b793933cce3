import { rm } from 'node:fs/promises';
import * as core from '@actions/core';
import type { JobInfo } from '@pipewright/worker';
import { STATE } from './state.js';

/**
 * The post step: reports jobs that were still running when the main step ended (cancelled or killed), and
 * removes this run's job folder. It only warns: a failed cleanup must not fail the workflow.
 */
export async function post(): Promise<void> {
  try {
    const active = parseActive(core.getState(STATE.active));
    for (const job of active) {
      core.warning(
        `${job.pipelineName} / ${job.stageName} / ${job.actionName} (job ${job.jobId}) was still running when the worker stopped. ` +
          'CodePipeline fails it when the job times out, unless it had reported progress and another worker resumes it.',
      );
    }
    const workspace = core.getState(STATE.workspace);
    if (workspace) {
      await rm(workspace, { recursive: true, force: true, maxRetries: 3 });
      core.info(`pipewright: removed ${workspace}`);
    }
  } catch (error) {
    core.warning(`pipewright cleanup: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function parseActive(value: string): JobInfo[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? (parsed as JobInfo[]) : [];
  } catch {
    return [];
  }
}
