import type { Masker } from '@pipewright/runtime';
import type { JobReport, WorkerSummary } from '@pipewright/worker';
import { formatDuration } from './github-log.js';

/**
 * The external execution id for jobs run by this workflow run: `<owner>/<repo>/actions/runs/<id>/attempts/<n>`.
 * With the action type's executionUrlTemplate `https://github.com/{ExternalExecutionId}` (or the GitHub
 * Enterprise server URL) the CodePipeline console links straight to this run's log.
 */
export function externalExecutionId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (!repo || !runId) return undefined;
  return `${repo}/actions/runs/${runId}/attempts/${attempt || '1'}`;
}

/** The executionUrlTemplate to register for this server: github.com or GitHub Enterprise Server. */
export function executionUrlTemplate(env: NodeJS.ProcessEnv = process.env): string {
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return `${server}/{ExternalExecutionId}`;
}

/** A job as it appears in the `jobs` output: plain JSON, masked. */
export interface JobOutput {
  jobId: string;
  pipelineName: string;
  stageName: string;
  actionName: string;
  actionType: string;
  status: JobReport['status'];
  summary?: string;
  message?: string;
  durationMs: number;
  externalExecutionId?: string;
}

/**
 * Limits that keep a long `serve` run inside GitHub's: a step's outputs and its summary are at most 1 MiB each.
 * The jobs output keeps the last MAX_OUTPUT_JOBS jobs with texts cut to MAX_TEXT; the summary table shows at
 * most MAX_SUMMARY_ROWS rows, failed jobs first.
 */
export const MAX_OUTPUT_JOBS = 500;
export const MAX_TEXT = 1000;
export const MAX_SUMMARY_ROWS = 200;

const cut = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

export function jobOutputs(jobs: readonly JobReport[], masker: Masker): JobOutput[] {
  return jobs.slice(-MAX_OUTPUT_JOBS).map((j) => {
    const out: JobOutput = {
      jobId: j.jobId,
      pipelineName: j.pipelineName,
      stageName: j.stageName,
      actionName: j.actionName,
      actionType: j.actionType,
      status: j.status,
      durationMs: Math.round(j.durationMs),
    };
    if (j.summary) out.summary = cut(j.summary);
    if (j.message) out.message = cut(j.message);
    if (j.externalExecutionId) out.externalExecutionId = j.externalExecutionId;
    return masker.maskValue(out);
  });
}

const RESULT: Record<JobReport['status'], string> = {
  succeeded: '✅ succeeded',
  'in-progress': '⏳ in progress',
  failed: '❌ failed',
  'handed-off': '↪️ handed off',
  skipped: '⏭️ skipped',
};

/** Table cells are HTML in the summary: escape, and keep multi-line summaries short and on one line. */
export function cell(text: string | undefined, max = 300): string {
  if (!text) return '';
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ').trim();
  const short = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return short.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;');
}

export type SummaryRow = ({ data: string; header?: boolean } | string)[];

/** The step summary: a heading, the counts, and one row per job (pipeline, stage, action, result, duration, summary). */
export function summaryTable(jobs: readonly JobOutput[]): SummaryRow[] {
  const header: SummaryRow = ['Pipeline', 'Stage', 'Action', 'Result', 'Duration', 'Summary'].map((data) => ({
    data,
    header: true,
  }));
  const shown = [
    ...jobs.filter((j) => j.status === 'failed'),
    ...jobs.filter((j) => j.status !== 'failed'),
  ].slice(0, MAX_SUMMARY_ROWS);
  return [
    header,
    ...shown.map((j) => [
      cell(j.pipelineName),
      cell(j.stageName),
      cell(j.actionName),
      RESULT[j.status] ?? j.status,
      formatDuration(j.durationMs),
      cell(j.summary ?? j.message),
    ]),
  ];
}

export function countsLine(
  summary: Pick<WorkerSummary, 'succeeded' | 'failed' | 'inProgress' | 'handedOff'>,
) {
  return `${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.inProgress} in progress, ${summary.handedOff} handed off`;
}
