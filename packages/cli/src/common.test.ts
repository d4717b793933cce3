import { PluginDefinitionError } from '@pipewright/core';
import { describe, expect, it } from 'vitest';
import { duration, humanLogger, keyValues, positiveInt } from './common.js';
import { CliError, explain, UsageError } from './errors.js';

describe('option parsing', () => {
  it('reads K=V pairs, keeping = in values', () => {
    expect(keyValues(['A=1', 'B=x=y', 'C='], '--config')).toEqual({ A: '1', B: 'x=y', C: '' });
    expect(() => keyValues(['nope'], '--config')).toThrow(UsageError);
  });

  it('reads durations and whole numbers', () => {
    expect(duration('--t')('90')).toBe(90_000);
    expect(duration('--t')('1500ms')).toBe(1500);
    expect(duration('--t')('15m')).toBe(900_000);
    expect(duration('--t')('1.5h')).toBe(5_400_000);
    expect(() => duration('--t')('soon')).toThrow(/not a duration/);
    expect(positiveInt('--n', 9)('3')).toBe(3);
    expect(() => positiveInt('--n', 9)('10')).toThrow(/1 to 9/);
  });
});

describe('humanLogger', () => {
  it('prints the job once as pipeline/stage/action and tool output as a column', () => {
    const lines: string[] = [];
    const log = humanLogger({ out: () => {}, err: (t) => lines.push(t), cwd: '.', env: {} }).child({
      jobId: 'j1',
      pipeline: 'web',
      stage: 'Build',
      action: 'Compile',
    });
    log.info('job started', { actionType: 'Build/X/1' });
    log.child({ stream: 'stdout', tool: 'sh' }).info('compiling');
    log.debug('hidden');
    expect(lines.map((l) => l.slice(9))).toEqual([
      'info  web/Build/Compile  job started  jobId=j1',
      '      web/Build/Compile │ compiling',
    ]);
  });
});

describe('explain', () => {
  it('turns errors into one line and a hint, with the exit code', () => {
    expect(explain(new CliError('broke', 'fix it'))).toEqual({
      message: 'broke',
      hint: 'fix it',
      exitCode: 1,
    });
    expect(explain(new UsageError('bad flag')).exitCode).toBe(2);
    const limit = explain(
      new PluginDefinitionError('p', ['action.provider: too long', 'action.version: bad']),
    );
    expect(limit.message).toBe(
      'plugin p breaks an AWS limit: action.provider: too long; action.version: bad',
    );
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    expect(explain(throttled).message).toBe('AWS throttled the request (ThrottlingException): Rate exceeded');
    const denied = Object.assign(new Error('User is not authorized\nto do it'), {
      name: 'AccessDeniedException',
    });
    expect(explain(denied)).toMatchObject({
      message: 'AWS refused the request (AccessDeniedException): User is not authorized; to do it',
    });
  });
});
