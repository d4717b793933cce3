import { Masker } from '@pipewright/runtime';
import { describe, expect, it } from 'vitest';
import { cell, executionUrlTemplate, externalExecutionId, jobOutputs, summaryTable } from './report.js';

describe('external execution id', () => {
  it('names the run and attempt, for the template <server>/{ExternalExecutionId}', () => {
    const env = { GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '77', GITHUB_RUN_ATTEMPT: '2' };
    expect(externalExecutionId(env)).toBe('acme/app/actions/runs/77/attempts/2');
    expect(externalExecutionId({ GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '77' })).toBe(
      'acme/app/actions/runs/77/attempts/1',
    );
    expect(externalExecutionId({})).toBeUndefined();
    expect(executionUrlTemplate({})).toBe('https://github.com/{ExternalExecutionId}');
    expect(executionUrlTemplate({ GITHUB_SERVER_URL: 'https://ghes.example.com/' })).toBe(
      'https://ghes.example.com/{ExternalExecutionId}',
    );
  });
});

describe('summary', () => {
  const job = {
    jobId: 'j1',
    pipelineName: 'app',
    stageName: 'Build',
    actionName: 'Compile',
    actionType: 'Build/Pipewright-Shell/1',
    continuation: false,
    status: 'succeeded' as const,
    durationMs: 1534.6,
    summary: 'built with secret-value-1\n<ok> | done',
  };

  it('masks the jobs output', () => {
    const masker = new Masker();
    masker.add('secret-value-1');
    expect(jobOutputs([job], masker)).toEqual([
      {
        jobId: 'j1',
        pipelineName: 'app',
        stageName: 'Build',
        actionName: 'Compile',
        actionType: 'Build/Pipewright-Shell/1',
        status: 'succeeded',
        durationMs: 1535,
        summary: 'built with ***\n<ok> | done',
      },
    ]);
  });

  it('has one row per job: pipeline, stage, action, result, duration, summary (escaped, one line)', () => {
    const [header, row] = summaryTable(jobOutputs([job], new Masker()));
    expect(header).toEqual(
      ['Pipeline', 'Stage', 'Action', 'Result', 'Duration', 'Summary'].map((data) => ({
        data,
        header: true,
      })),
    );
    expect(row).toEqual([
      'app',
      'Build',
      'Compile',
      '✅ succeeded',
      '1.5 s',
      'built with secret-value-1 ⏎ &lt;ok&gt; &#124; done',
    ]);
    expect(cell('x'.repeat(400))).toHaveLength(300);
  });

  it('stays inside GitHub output and summary limits on long runs, failed jobs first', () => {
    const many = Array.from({ length: 600 }, (_, i) => ({
      ...job,
      jobId: `j${i}`,
      status: i === 599 ? ('failed' as const) : ('succeeded' as const),
      summary: 'y'.repeat(5000),
    }));
    const out = jobOutputs(many, new Masker());
    expect(out).toHaveLength(500);
    expect(out[0]?.jobId).toBe('j100');
    expect(out[0]?.summary).toHaveLength(1000);
    const rows = summaryTable(out);
    expect(rows).toHaveLength(201);
    expect(rows[1]?.[3]).toBe('❌ failed');
  });
});
