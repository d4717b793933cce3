import { describe, expect, it } from 'vitest';
import { type InputName, parseDuration, parseSettings, SettingsError, splitList } from './inputs.js';

const ENV = { AWS_REGION: 'eu-west-1', GITHUB_WORKSPACE: '/repo', RUNNER_TEMP: '/runner/tmp' };

function parse(inputs: Partial<Record<InputName, string>>, env: NodeJS.ProcessEnv = ENV) {
  return parseSettings({ getInput: (name) => inputs[name] ?? '', env });
}

function problems(inputs: Partial<Record<InputName, string>>, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parse(inputs, env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).problems;
  }
  throw new Error('expected a SettingsError');
}

describe('parseSettings', () => {
  it('applies the defaults', () => {
    expect(parse({})).toEqual({
      plugins: ['@pipewright/plugin-shell'],
      region: 'eu-west-1',
      mode: 'drain',
      concurrency: 1,
      workspace: '/runner/tmp',
    });
  });

  it('reads every input', () => {
    expect(
      parse({
        plugins: '@pipewright/plugin-shell\n ./plugins/mine.js , @acme/pipewright-plugin-x@^2',
        'action-types': 'Build/Pipewright-Shell/1,\nTest/Pipewright-Shell/1',
        query: 'Fleet=linux-large',
        region: 'us-east-2',
        mode: 'serve',
        concurrency: '4',
        'idle-timeout': '15m',
        'max-jobs': '100',
        'job-timeout': '2h',
        'zip-threads': '2',
        workspace: 'work',
        endpoint: 'http://127.0.0.1:4571',
        's3-endpoint': 'http://127.0.0.1:4572/',
      }),
    ).toEqual({
      plugins: ['@pipewright/plugin-shell', './plugins/mine.js', '@acme/pipewright-plugin-x@^2'],
      actionTypes: [
        { category: 'Build', provider: 'Pipewright-Shell', version: '1' },
        { category: 'Test', provider: 'Pipewright-Shell', version: '1' },
      ],
      query: { Fleet: 'linux-large' },
      region: 'us-east-2',
      mode: 'serve',
      concurrency: 4,
      idleTimeoutMs: 900_000,
      maxJobs: 100,
      jobTimeoutMs: 7_200_000,
      zipThreads: 2,
      workspace: '/repo/work',
      endpoint: 'http://127.0.0.1:4571',
      s3Endpoint: 'http://127.0.0.1:4572/',
    });
  });

  it('falls back to AWS_DEFAULT_REGION, then fails naming what to do', () => {
    expect(parse({}, { AWS_DEFAULT_REGION: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
    expect(problems({}, {})).toEqual([
      expect.stringMatching(/^region: no region given .*AWS_REGION.*configure-aws-credentials/),
    ]);
  });

  it('takes queryable values from PIPEWRIGHT_QUERY_<Name> too; the input wins', () => {
    const env = { ...ENV, PIPEWRIGHT_QUERY_Fleet: 'small', PIPEWRIGHT_QUERY_Zone: 'a' };
    expect(parse({ query: 'Fleet=large' }, env).query).toEqual({ Fleet: 'large', Zone: 'a' });
  });

  it('keeps an absolute workspace and falls back to the checkout without RUNNER_TEMP', () => {
    expect(parse({ workspace: '/data/jobs' }).workspace).toBe('/data/jobs');
    expect(parse({}, { AWS_REGION: 'us-east-1', GITHUB_WORKSPACE: '/repo' }).workspace).toBe(
      '/repo/.pipewright',
    );
  });

  it.each<[string, Partial<Record<InputName, string>>, RegExp]>([
    ['empty plugins list', { plugins: ' , \n ' }, /^plugins: no plugin given/],
    ['a plugin twice', { plugins: 'a\na' }, /^plugins: a plugin is listed twice/],
    [
      'action type without version',
      { 'action-types': 'Build/Pipewright-Shell' },
      /^action-types: "Build\/Pipewright-Shell" is not Category\/Provider\/Version/,
    ],
    ['action type with unknown category', { 'action-types': 'Lint/X/1' }, /^action-types: "Lint\/X\/1"/],
    ['action type with long provider', { 'action-types': `Build/${'P'.repeat(36)}/1` }, /^action-types: /],
    ['query without a value', { query: 'Fleet' }, /^query: "Fleet" is not Name=Value/],
    ['query value with a space', { query: 'Fleet=linux large' }, /^query: "Fleet=linux large"/],
    ['query value too long', { query: `Fleet=${'x'.repeat(51)}` }, /^query: "Fleet=x+"/],
    ['region that is not a region', { region: 'Frankfurt' }, /^region: "Frankfurt" is not an AWS region/],
    ['unknown mode', { mode: 'forever' }, /^mode: "forever" is not a mode. Use `once`, `drain`/],
    ['concurrency zero', { concurrency: '0' }, /^concurrency: "0" is not a whole number from 1 to 64/],
    ['concurrency too high', { concurrency: '65' }, /^concurrency: "65"/],
    ['concurrency not a number', { concurrency: 'four' }, /^concurrency: "four"/],
    ['concurrency fraction', { concurrency: '1.5' }, /^concurrency: "1.5"/],
    ['zip-threads too high', { 'zip-threads': '8' }, /^zip-threads: "8" is not a whole number from 1 to 4/],
    ['max-jobs zero', { 'max-jobs': '0' }, /^max-jobs: "0" is not a whole number/],
    ['max-jobs negative', { 'max-jobs': '-3' }, /^max-jobs: "-3"/],
    [
      'idle-timeout not a duration',
      { mode: 'serve', 'idle-timeout': 'soon' },
      /^idle-timeout: "soon" is not a duration/,
    ],
    ['idle-timeout zero', { mode: 'serve', 'idle-timeout': '0' }, /^idle-timeout: "0" is not a duration/],
    [
      'idle-timeout in once mode',
      { mode: 'once', 'idle-timeout': '5m' },
      /^idle-timeout: does not apply in `once` mode/,
    ],
    ['job-timeout with a bad unit', { 'job-timeout': '3d' }, /^job-timeout: "3d" is not a duration/],
    ['job-timeout over 7 days', { 'job-timeout': '169h' }, /^job-timeout: "169h"/],
    [
      'endpoint not a URL',
      { endpoint: 'localhost:4566' },
      /^endpoint: "localhost:4566" is not an http\(s\) URL/,
    ],
    ['endpoint with another scheme', { endpoint: 'ftp://x' }, /^endpoint: "ftp:\/\/x"/],
    ['s3-endpoint not a URL', { 's3-endpoint': 'nope' }, /^s3-endpoint: "nope" is not an http\(s\) URL/],
  ])('rejects %s', (_, inputs, message) => {
    const list = problems(inputs);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(message);
  });

  it('reports every problem at once, in one message', () => {
    let error: SettingsError | undefined;
    try {
      parse(
        { mode: 'forever', concurrency: '0', endpoint: 'x', 'action-types': 'a,b', 'idle-timeout': 'x' },
        {},
      );
    } catch (e) {
      error = e as SettingsError;
    }
    expect(error?.problems.map((p) => p.split(':')[0])).toEqual([
      'action-types',
      'action-types',
      'region',
      'mode',
      'concurrency',
      'idle-timeout',
      'endpoint',
    ]);
    expect(error?.message).toMatch(/^7 inputs are invalid:\n {2}- action-types: /);
  });
});

describe('helpers', () => {
  it('splits lists on newlines and commas', () => {
    expect(splitList(' a,b\n\n c ,')).toEqual(['a', 'b', 'c']);
  });

  it('parses durations', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('5 m')).toBe(300_000);
    expect(parseDuration('-1')).toBeUndefined();
    expect(parseDuration('1d')).toBeUndefined();
  });
});
