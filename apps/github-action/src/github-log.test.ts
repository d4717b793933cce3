import * as core from '@actions/core';
import type { LogRecord } from '@pipewright/runtime';
import { Masker } from '@pipewright/runtime';
import type { JobInfo } from '@pipewright/worker';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { annotate, createJobLog, formatDuration, formatRecord } from './github-log.js';

vi.mock('@actions/core');

const record = (level: LogRecord['level'], msg: string, fields: Record<string, unknown> = {}): LogRecord => ({
  level,
  msg,
  time: '2026-01-01T00:00:00.000Z',
  ...fields,
});
const job = (jobId: string): JobInfo => ({
  jobId,
  pipelineName: 'app',
  stageName: 'Build',
  actionName: `Action-${jobId}`,
  actionType: 'Build/Pipewright-Shell/1',
  continuation: false,
});

let written: string[];
beforeEach(() => {
  vi.clearAllMocks();
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  vi.mocked(core.startGroup).mockImplementation((name) => written.push(`::group::${name}\n`));
  vi.mocked(core.endGroup).mockImplementation(() => written.push('::endgroup::\n'));
  vi.mocked(core.info).mockImplementation((m) => written.push(`${m}\n`));
  vi.mocked(core.warning).mockImplementation((m, p) =>
    written.push(`::warning ${JSON.stringify(p ?? {})}::${m}\n`),
  );
  vi.mocked(core.error).mockImplementation((m, p) =>
    written.push(`::error ${JSON.stringify(p ?? {})}::${m}\n`),
  );
  vi.mocked(core.notice).mockImplementation((m, p) =>
    written.push(`::notice ${JSON.stringify(p ?? {})}::${m}\n`),
  );
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('formatting', () => {
  it('writes the message and the fields that are not the job identity', () => {
    expect(formatRecord(record('info', 'hello', { jobId: 'j', pipeline: 'p', stream: 'stdout', n: 2 }))).toBe(
      'hello stream=stdout n=2',
    );
    expect(formatRecord(record('warn', 'careful'))).toBe('Warning: careful');
    expect(formatRecord(record('error', 'broken'), false)).toBe('broken');
  });

  it('formats durations', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});

describe('annotations', () => {
  it('turns records with file and line into annotations of their level', () => {
    expect(annotate(record('warn', 'unused', { file: 'src/a.ts', line: 3, column: 7, endLine: 4 }))).toBe(
      true,
    );
    expect(core.warning).toHaveBeenCalledWith('unused', {
      file: 'src/a.ts',
      startLine: 3,
      startColumn: 7,
      endLine: 4,
    });
    annotate(record('error', 'bad', { file: 'b.ts', line: 1, title: 'rule x' }));
    expect(core.error).toHaveBeenCalledWith('bad', { file: 'b.ts', startLine: 1, title: 'rule x' });
    annotate(record('info', 'note', { file: 'c.ts' }));
    expect(core.notice).toHaveBeenCalledWith('note', { file: 'c.ts' });
  });

  it('ignores records without a file and bad line numbers', () => {
    expect(annotate(record('error', 'no file'))).toBe(false);
    annotate(record('warn', 'x', { file: 'a.ts', line: -1, column: 'seven' }));
    expect(core.warning).toHaveBeenCalledWith('x', { file: 'a.ts' });
  });
});

describe('createJobLog', () => {
  it('buffers each job and writes it as one group when it ends, even when jobs interleave', () => {
    const log = createJobLog(new Masker());
    log.jobStarted(job('1'));
    log.jobStarted(job('2'));
    log.sink(record('info', 'one-a', { jobId: '1' }));
    log.sink(record('info', 'two-a', { jobId: '2' }));
    log.sink(record('info', 'polling'));
    log.sink(record('info', 'one-b', { jobId: '1' }));
    log.jobEnded({ ...job('2'), status: 'failed', durationMs: 1200, message: 'exit 3' });
    log.jobEnded({ ...job('1'), status: 'succeeded', durationMs: 20 });
    const out = written.join('');
    expect(out.indexOf('polling')).toBeLessThan(out.indexOf('::group::'));
    const groups = out.split('::group::').slice(1);
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatch(
      /^❌ app \/ Build \/ Action-2: failed in 1.2 s\n::stop-commands::(\S+)\ntwo-a\nError: exit 3\n::\1::\n::endgroup::\n$/,
    );
    expect(groups[1]).toMatch(
      /^✅ app \/ Build \/ Action-1: succeeded in 20 ms\n::stop-commands::\S+\none-a\none-b\n/,
    );
  });

  it('masks secrets learnt after a line was buffered, and annotates findings after the group', () => {
    const masker = new Masker();
    const log = createJobLog(masker);
    log.jobStarted(job('1'));
    log.sink(record('warn', 'token abcd1234 leaked', { jobId: '1', file: 'x.ts', line: 2 }));
    masker.add('abcd1234');
    log.jobEnded({ ...job('1'), status: 'succeeded', durationMs: 5 });
    const out = written.join('');
    expect(out).not.toContain('abcd1234');
    expect(out).toContain('Warning: token *** leaked');
    expect(out.indexOf('::endgroup::')).toBeLessThan(
      out.indexOf('::warning {"file":"x.ts","startLine":2}::token *** leaked'),
    );
  });

  it('annotates a repeated warning outside jobs once, then writes it as a plain line', () => {
    const log = createJobLog(new Masker());
    log.sink(record('warn', 'PollForJobs failed', { error: 'throttled' }));
    log.sink(record('warn', 'PollForJobs failed', { error: 'throttled' }));
    expect(core.warning).toHaveBeenCalledTimes(1);
    expect(core.warning).toHaveBeenCalledWith('PollForJobs failed error=throttled');
    expect(core.info).toHaveBeenCalledWith('Warning: PollForJobs failed error=throttled');
  });

  it('flushes jobs that never ended as still running', () => {
    const log = createJobLog(new Masker());
    log.jobStarted(job('9'));
    log.sink(record('info', 'working', { jobId: '9' }));
    log.flushAll();
    expect(written.join('')).toMatch(
      /::group::app \/ Build \/ Action-9: still running\n::stop-commands::\S+\nworking\n/,
    );
  });
});
