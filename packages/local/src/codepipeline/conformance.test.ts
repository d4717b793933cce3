import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import {
  AcknowledgeJobCommand,
  CreatePipelineCommand,
  DeleteCustomActionTypeCommand,
  DeletePipelineCommand,
  GetJobDetailsCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListActionTypesCommand,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  StopPipelineExecutionCommand,
  UpdatePipelineCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codepipeline, startDemo } from '../__fixtures__/pipeline.js';
import { type LocalStack, startLocalStack } from '../stack.js';
import { OPERATIONS } from './server.js';

/**
 * Checks every response the stack sends against the service model compiled into the installed
 * @aws-sdk/client-codepipeline (its `<Shape>$` schema exports): each member name must exist in the shape,
 * required members must be present, and scalar types must match.
 */

// The SDK's CommonJS build exports the Smithy schemas; the ESM build is not importable by Node directly.
const model = createRequire(import.meta.url)('@aws-sdk/client-codepipeline') as Record<string, unknown>;

type Schema = unknown;
const resolve = (s: Schema): Schema => (typeof s === 'function' ? resolve((s as () => Schema)()) : s);
const isSchema = (s: unknown): s is unknown[] =>
  Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'string';
/** A member is either a schema reference or `[reference, traits]`. */
const memberRef = (m: Schema): Schema => (Array.isArray(m) && !isSchema(m) ? m[0] : m);

function check(value: unknown, schema: Schema, path: string, problems: string[]): void {
  const s = resolve(memberRef(schema));
  if (typeof s === 'number') {
    if (s & 64) {
      if (!Array.isArray(value)) problems.push(`${path}: expected a list`);
    } else if (s & 128) {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        problems.push(`${path}: expected a map`);
    } else {
      const expected = ({ 0: 'string', 1: 'number', 2: 'boolean', 4: 'number' } as Record<number, string>)[s];
      if (expected && typeof value !== expected)
        problems.push(`${path}: expected ${expected}, got ${typeof value}`);
    }
    return;
  }
  if (!isSchema(s)) return;
  const kind = s[0] as number;
  if (kind === 3 || kind === -3) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${path}: expected structure ${s[2]}`);
      return;
    }
    const names = s[4] as string[];
    const members = s[5] as Schema[];
    const required = typeof s[6] === 'number' ? s[6] : 0;
    for (const name of names.slice(0, required)) {
      if (!(name in value)) problems.push(`${path}: required member ${s[2]}.${name} missing`);
    }
    for (const [k, v] of Object.entries(value)) {
      const i = names.indexOf(k);
      if (i < 0) problems.push(`${path}.${k}: not a member of ${s[2]}`);
      else check(v, members[i], `${path}.${k}`, problems);
    }
  } else if (kind === 1) {
    if (!Array.isArray(value)) problems.push(`${path}: expected list ${s[2]}`);
    else
      value.forEach((v, i) => {
        check(v, s[4], `${path}[${i}]`, problems);
      });
  } else if (kind === 2) {
    for (const [k, v] of Object.entries(value as object)) check(v, s[5], `${path}.${k}`, problems);
  }
}

let stack: LocalStack;
const seen = new Map<string, string[]>();

beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(() => stack.stop());

describe('conformance with the service model shipped in the SDK', () => {
  it('every implemented operation answers with members of its output shape', async () => {
    const cp = codepipeline(stack);
    // Record the raw body of every response before the SDK deserializes (and silently drops) members.
    cp.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const response = result.response as { body: Readable; statusCode: number };
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(Buffer.from(c));
        const text = Buffer.concat(chunks).toString('utf8');
        response.body = Readable.from([Buffer.from(text)]);
        const op = String(context.commandName).replace(/Command$/, '');
        if (response.statusCode === 200) seen.set(op, [...(seen.get(op) ?? []), text]);
        return result;
      },
      { step: 'deserialize', priority: 'low', name: 'recordRawResponse' },
    );

    const demo = await startDemo(stack, cp);
    const job = await demo.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
    await cp.send(new GetJobDetailsCommand({ jobId: job.id }));
    await cp.send(
      new PutJobSuccessResultCommand({
        jobId: job.id,
        continuationToken: 'c',
        executionDetails: { summary: 's', externalExecutionId: 'e', percentComplete: 5 },
      }),
    );
    const next = await demo.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: next.id, nonce: next.nonce }));
    await cp.send(
      new PutJobSuccessResultCommand({
        jobId: next.id,
        currentRevision: { revision: 'r1', changeIdentifier: 'c1' },
        outputVariables: { k: 'v' },
      }),
    );
    const failing = await startDemo(stack, cp);
    const fj = await failing.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: fj.id, nonce: fj.nonce }));
    await cp.send(
      new PutJobFailureResultCommand({ jobId: fj.id, failureDetails: { type: 'JobFailed', message: 'no' } }),
    );
    const { pipeline } = await cp.send(new GetPipelineCommand({ name: demo.name }));
    await cp.send(new UpdatePipelineCommand({ pipeline }));
    await cp.send(new ListPipelinesCommand({}));
    await cp.send(new ListActionTypesCommand({}));
    await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: demo.executionId }),
    );
    await cp.send(
      new GetPipelineExecutionCommand({
        pipelineName: failing.name,
        pipelineExecutionId: failing.executionId,
      }),
    );
    await cp.send(new ListPipelineExecutionsCommand({ pipelineName: demo.name }));
    await cp.send(new GetPipelineStateCommand({ name: demo.name }));
    await cp.send(new GetPipelineStateCommand({ name: failing.name }));
    await cp.send(new ListActionExecutionsCommand({ pipelineName: demo.name }));
    await cp.send(new ListActionExecutionsCommand({ pipelineName: failing.name }));
    await cp.send(new CreatePipelineCommand({ pipeline: { ...pipeline!, name: 'copy' } }));
    await cp.send(new DeletePipelineCommand({ name: 'copy' }));
    const stopped = await startDemo(stack, cp);
    await stopped.poll();
    await cp.send(
      new StopPipelineExecutionCommand({
        pipelineName: stopped.name,
        pipelineExecutionId: stopped.executionId,
        abandon: true,
      }),
    );
    await cp.send(new GetPipelineStateCommand({ name: stopped.name }));
    await cp.send(new ListActionExecutionsCommand({ pipelineName: stopped.name }));
    await cp.send(new DeleteCustomActionTypeCommand({ category: 'Build', provider: 'Demo-2', version: '1' }));

    const problems: string[] = [];
    for (const op of Object.keys(OPERATIONS)) {
      const bodies = seen.get(op);
      expect(bodies, `no response recorded for ${op}`).toBeDefined();
      const output = resolve((model[`${op}$`] as unknown[])[5]);
      for (const body of bodies ?? []) {
        if (!isSchema(output) || output[2] === 'Unit') {
          if (body !== '') problems.push(`${op}: expected an empty body`);
          continue;
        }
        check(JSON.parse(body), output, op, problems);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the conformance checker itself', () => {
  it('reports unknown members, missing required members and wrong scalar types', () => {
    const problems: string[] = [];
    check(
      { jobs: [{ id: 1, bogus: true, data: { actionTypeId: { category: 'Build' } } }] },
      model.PollForJobsOutput$,
      'PollForJobs',
      problems,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'PollForJobs.jobs[0].id: expected string, got number',
        'PollForJobs.jobs[0].bogus: not a member of Job',
        expect.stringMatching(/required member ActionTypeId\.owner missing/),
      ]),
    );
  });
});
