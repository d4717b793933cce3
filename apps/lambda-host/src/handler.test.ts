import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLambdaHandler } from './handler.js';
import { bundledPlugins, selectPlugins } from './plugins.js';

const preStart = (params: Record<string, string>, content: string) => ({
  Type: 'PreStartDeployment',
  InvocationId: 'inv-1',
  Parameters: params,
  Application: { Id: 'app1234' },
  Environment: { Id: 'env5678' },
  ConfigurationProfile: { Id: 'prof901' },
  DeploymentNumber: 1,
  ContentType: 'application/json',
  Content: Buffer.from(content).toString('base64'),
});

const context = {
  awsRequestId: 'req-1',
  functionName: 'pipewright-json-schema',
  getRemainingTimeInMillis: () => 3000,
};
const schema = JSON.stringify({ type: 'object', properties: { port: { type: 'integer' } } });

function captureStdout() {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return { lines, spy };
}

afterEach(() => vi.restoreAllMocks());

describe('selectPlugins', () => {
  it('defaults to every bundled plugin and picks by any of their names, in the given order', () => {
    expect(selectPlugins(undefined)).toStrictEqual([...bundledPlugins]);
    expect(selectPlugins('s3-backup, @pipewright/plugin-json-schema').map((p) => p.name)).toStrictEqual([
      '@pipewright/plugin-s3-backup',
      '@pipewright/plugin-json-schema',
    ]);
    expect(selectPlugins('pipewright-json-schema').map((p) => p.name)).toStrictEqual([
      '@pipewright/plugin-json-schema',
    ]);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => selectPlugins('json-schema,webhook')).toThrow(
      'PIPEWRIGHT_PLUGINS names "webhook", which this bundle does not carry; known: json-schema, s3-backup',
    );
  });
});

describe('the Lambda handler', () => {
  it('answers AppConfig and logs structured JSON through Powertools', async () => {
    const { lines } = captureStdout();
    const handler = createLambdaHandler({ env: { PIPEWRIGHT_PLUGINS: 'json-schema' } });
    const response = await handler(preStart({ Schema: schema }, '{"port":"x"}'), context);
    vi.restoreAllMocks();
    expect(response).toMatchObject({
      Error: 'BadRequestError',
      Details: [{ Name: '/port', Reason: 'must be integer' }],
    });
    const records = lines
      .flatMap((l) => l.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'invocation finished',
        function_request_id: 'req-1',
        actionPoint: 'PRE_START_DEPLOYMENT',
        outcome: 'rejected',
      }),
    );
  });

  it('takes parameter defaults from PIPEWRIGHT_PARAM_<NAME>, which validators need', async () => {
    captureStdout();
    const handler = createLambdaHandler({
      env: { PIPEWRIGHT_PLUGINS: 'json-schema', PIPEWRIGHT_PARAM_Schema: schema },
    });
    const validator = {
      applicationId: 'a',
      configurationProfileId: 'p',
      configurationVersion: '1',
      uri: 'hosted',
    };
    await expect(
      handler({ ...validator, content: Buffer.from('{"port":1}').toString('base64') }, context),
    ).resolves.toBeNull();
    await expect(
      handler({ ...validator, content: Buffer.from('{"port":1.5}').toString('base64') }, context),
    ).rejects.toThrow(/\/port: must be integer/);
  });
});
