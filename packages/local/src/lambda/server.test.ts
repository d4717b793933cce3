import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { type LambdaServer, startLambdaServer } from './server.js';

const HANDLERS = `
let calls = 0;
export const echo = async (event, context) => ({
  event,
  calls: ++calls,
  functionName: context.functionName,
  requestId: context.awsRequestId,
  remaining: context.getRemainingTimeInMillis(),
  envVar: process.env.MY_VAR,
  region: process.env.AWS_REGION,
  pid: process.pid,
});
export const fail = async () => { const e = new TypeError('boom: ' + 'x'); throw e; };
export const slow = () => new Promise((r) => setTimeout(() => r('late'), 5000));
export const nothing = async () => { console.log('hello from the function'); };
export const hog = async () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(1)); };
`;

describe('local Lambda service', () => {
  let dir: string;
  let lambda: LambdaServer;
  let client: LambdaClient;
  const decode = (p?: Uint8Array) => JSON.parse(Buffer.from(p ?? []).toString('utf8'));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipewright-lambda-test-'));
    const file = path.join(dir, 'handlers.mjs');
    await writeFile(file, HANDLERS);
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('export const handler = async (e) => ({ zipped: e.n * 2 });'), 'index.mjs');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    await writeFile(path.join(dir, 'bundle.zip'), Buffer.concat(chunks));

    lambda = await startLambdaServer({
      functions: [
        { name: 'echo', handler: file, exportName: 'echo', environment: { MY_VAR: 'set' } },
        { name: 'fail', handler: file, exportName: 'fail' },
        { name: 'slow', handler: file, exportName: 'slow', timeoutMs: 300 },
        { name: 'nothing', handler: file, exportName: 'nothing' },
        { name: 'hog', handler: file, exportName: 'hog', memoryMb: 32, timeoutMs: 20_000 },
      ],
    });
    await lambda.registerFunction({
      name: 'zipped',
      zipFile: path.join(dir, 'bundle.zip'),
      handler: 'index.handler',
    });
    client = new LambdaClient({
      endpoint: lambda.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await lambda?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('invokes a handler module with event, context and environment, keeping the runner warm', async () => {
    const first = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from(JSON.stringify({ a: 1 })) }),
    );
    expect(first.StatusCode).toBe(200);
    expect(first.FunctionError).toBeUndefined();
    const out = decode(first.Payload);
    expect(out).toMatchObject({
      event: { a: 1 },
      calls: 1,
      functionName: 'echo',
      envVar: 'set',
      region: 'us-east-1',
    });
    // Counts down from the function's 3 s timeout; how far depends on the machine's load at the first start.
    expect(out.remaining).toBeGreaterThan(0);
    expect(out.remaining).toBeLessThanOrEqual(3000);
    expect(out.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.pid).not.toBe(process.pid);
    const second = decode(
      (
        await client.send(
          new InvokeCommand({ FunctionName: lambda.listFunctions()[0]!.arn, Payload: Buffer.from('{}') }),
        )
      ).Payload,
    );
    expect(second).toMatchObject({ calls: 2, pid: out.pid });
  });

  it('runs a handler from a zip extracted once', async () => {
    const res = await client.send(
      new InvokeCommand({ FunctionName: 'zipped', Payload: Buffer.from('{"n":21}') }),
    );
    expect(decode(res.Payload)).toEqual({ zipped: 42 });
  });

  it('returns Lambda error shapes for thrown errors, timeouts and memory exhaustion', async () => {
    const failed = await client.send(new InvokeCommand({ FunctionName: 'fail', Payload: Buffer.from('{}') }));
    expect(failed.StatusCode).toBe(200);
    expect(failed.FunctionError).toBe('Unhandled');
    const err = decode(failed.Payload);
    expect(err).toMatchObject({ errorType: 'TypeError', errorMessage: 'boom: x' });
    expect(err.trace[0]).toContain('TypeError: boom: x');

    const timedOut = await client.send(new InvokeCommand({ FunctionName: 'slow' }));
    expect(timedOut.FunctionError).toBe('Unhandled');
    expect(decode(timedOut.Payload).errorMessage).toMatch(/Task timed out after 0\.30 seconds$/);

    const oom = await client.send(new InvokeCommand({ FunctionName: 'hog' }));
    expect(oom.FunctionError).toBe('Unhandled');
    expect(decode(oom.Payload).errorType).toBe('Runtime.OutOfMemory');
  });

  it('supports null results, Tail logs, Event and DryRun invocations', async () => {
    const res = await client.send(new InvokeCommand({ FunctionName: 'nothing', LogType: 'Tail' }));
    expect(decode(res.Payload)).toBeNull();
    expect(Buffer.from(res.LogResult ?? '', 'base64').toString()).toMatch(
      /START RequestId[\s\S]*hello from the function[\s\S]*REPORT RequestId/,
    );
    const event = await client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event' }));
    expect(event.StatusCode).toBe(202);
    const dry = await client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
  });

  it('answers ResourceNotFoundException for unknown functions, and Get/ListFunctions', async () => {
    const err = await client.send(new InvokeCommand({ FunctionName: 'missing' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect((err as Error).message).toContain('Function not found');
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'zipped' }));
    expect(got.Configuration).toMatchObject({ FunctionName: 'zipped', Handler: 'index.handler', Timeout: 3 });
    const list = await client.send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName)).toContain('echo');
  });
});
