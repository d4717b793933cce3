import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { LogRecord, LogSink, Masker } from '@pipewright/runtime';
import type { JobInfo, JobReport } from '@pipewright/worker';

/** Fields that every record carries or that identify the job; not repeated after the message. */
const QUIET_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'jobId',
  'pipelineName',
  'pipeline',
  'stageName',
  'stage',
  'actionName',
  'action',
  'actionType',
  'plugin',
  'file',
  'line',
  'column',
  'endLine',
  'title',
]);

const STATUS_ICON: Record<JobReport['status'], string> = {
  succeeded: '✅',
  'in-progress': '⏳',
  failed: '❌',
  'handed-off': '↪️',
  skipped: '⏭️',
};

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** `msg key=value …` for a human reading the log; in a group, the level prefixes warnings and errors. */
export function formatRecord(record: LogRecord, withLevel = true): string {
  const extra = Object.entries(record)
    .filter(([k, v]) => !QUIET_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const prefix = !withLevel
    ? ''
    : record.level === 'error'
      ? 'Error: '
      : record.level === 'warn'
        ? 'Warning: '
        : '';
  return `${prefix}${record.msg}${extra.length ? ` ${extra.join(' ')}` : ''}`;
}

/**
 * A finding with a place in the code: a record with a string `file` (relative to the repository) and
 * optionally `line`, `column`, `endLine` and `title`. Warnings and errors become annotations of that level,
 * anything else a notice.
 */
export function annotate(record: LogRecord): boolean {
  if (typeof record.file !== 'string' || record.file === '') return false;
  const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const properties: core.AnnotationProperties = { file: record.file };
  const startLine = num(record.line);
  if (startLine) properties.startLine = startLine;
  const endLine = num(record.endLine);
  if (endLine) properties.endLine = endLine;
  const startColumn = num(record.column);
  if (startColumn) properties.startColumn = startColumn;
  if (typeof record.title === 'string') properties.title = record.title;
  if (record.level === 'error') core.error(record.msg, properties);
  else if (record.level === 'warn') core.warning(record.msg, properties);
  else core.notice(record.msg, properties);
  return true;
}

export interface JobLog {
  /** The sink for the worker's logger. */
  sink: LogSink;
  jobStarted(job: JobInfo): void;
  /** Writes the job's buffered log as one group, then its annotations. */
  jobEnded(report: JobReport): void;
  /** Writes whatever is still buffered (jobs that never ended), each as a group. */
  flushAll(): void;
}

/**
 * Groups every job's log. With more than one job at a time, lines of different jobs would interleave and
 * `::group::` cannot nest or overlap, so each job's records are buffered and written as one group when the
 * job ends. Records outside any job (polling, startup) are written at once.
 *
 * Job output is written between `::stop-commands::` markers, so a tool that prints `::set-output` or
 * `::add-mask::` cannot issue workflow commands; findings (records with `file`) are written as annotations
 * after the group. Every line is masked again when written, so a secret learnt after a line was buffered is
 * still hidden.
 */
export function createJobLog(masker: Masker, options: { debug?: boolean } = {}): JobLog {
  const buffers = new Map<string, { job: JobInfo; records: LogRecord[] }>();

  // A worker warning outside jobs (a failing poll, say) repeats every poll in `serve` mode, and GitHub shows
  // only the first few annotations of a step: each message becomes an annotation once, then a plain line.
  const annotated = new Set<string>();
  const writeNow = (record: LogRecord) => {
    const masked = masker.maskValue(record);
    if (annotate(masked)) return;
    const line = masker.mask(formatRecord(masked, false));
    const first = !annotated.has(`${masked.level}:${masked.msg}`);
    if (masked.level === 'debug') core.debug(line);
    else if ((masked.level === 'error' || masked.level === 'warn') && first) {
      annotated.add(`${masked.level}:${masked.msg}`);
      if (masked.level === 'error') core.error(line);
      else core.warning(line);
    } else core.info(masker.mask(formatRecord(masked)));
  };

  const flush = (job: JobInfo, records: LogRecord[], title: string) => {
    core.startGroup(masker.mask(title));
    const token = randomUUID();
    process.stdout.write(`::stop-commands::${token}\n`);
    const findings: LogRecord[] = [];
    for (const record of records) {
      const masked = masker.maskValue(record);
      if (typeof masked.file === 'string' && masked.file !== '') findings.push(masked);
      if (masked.level === 'debug' && !options.debug) continue;
      const text = masker.mask(formatRecord(masked));
      process.stdout.write(`${masked.level === 'debug' ? '[debug] ' : ''}${text}\n`);
    }
    process.stdout.write(`::${token}::\n`);
    core.endGroup();
    for (const finding of findings) annotate(finding);
    buffers.delete(job.jobId);
  };

  return {
    sink(record) {
      const jobId = typeof record.jobId === 'string' ? record.jobId : undefined;
      const buffer = jobId ? buffers.get(jobId) : undefined;
      if (buffer) buffer.records.push(record);
      else writeNow(record);
    },
    jobStarted(job) {
      if (!buffers.has(job.jobId)) buffers.set(job.jobId, { job, records: [] });
    },
    jobEnded(report) {
      const buffer = buffers.get(report.jobId) ?? { job: report, records: [] };
      const where = `${report.pipelineName} / ${report.stageName} / ${report.actionName}`;
      const title = `${STATUS_ICON[report.status] ?? ''} ${where}: ${report.status} in ${formatDuration(report.durationMs)}`;
      const records = [...buffer.records];
      if (report.message) {
        records.push({
          level: report.status === 'failed' ? 'error' : 'info',
          time: new Date().toISOString(),
          msg: report.message,
        });
      }
      flush(buffer.job, records, title.trim());
    },
    flushAll() {
      for (const { job, records } of [...buffers.values()]) {
        flush(job, records, `${job.pipelineName} / ${job.stageName} / ${job.actionName}: still running`);
      }
    },
  };
}
