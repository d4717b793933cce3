import {
  AcknowledgeJobCommand,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  DeleteCustomActionTypeCommand,
  GetJobDetailsCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListActionTypesCommand,
  ListPipelinesCommand,
  PollForJobsCommand,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  StopPipelineExecutionCommand,
  UpdatePipelineCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codepipeline, startDemo, until } from '../__fixtures__/pipeline.js';
import { type LocalStack, startLocalStack } from '../stack.js';

let stack: LocalStack;
let cp: ReturnType<typeof codepipeline>;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  stack = await startLocalStack({ maxCustomActionTypes: 20 });
  cp = codepipeline(stack);
});
afterAll(() => stack.stop());

const rejects = (p: Promise<unknown>, name: string, message?: RegExp) =>
  expect(p).rejects.toMatchObject({ name, ...(message ? { message: expect.stringMatching(message) } : {}) });

const custom = (o: Record<string, unknown> = {}) =>
  new CreateCustomActionTypeCommand({
    category: 'Test',
    provider: 'Errs',
    version: '1',
    inputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
    outputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
    ...o,
  });

describe('job API errors through the SDK', () => {
  it('PollForJobs: ValidationException for AWS/ThirdParty owners, ActionTypeNotFoundException for unknown or deleted types', async () => {
    await rejects(
      cp.send(
        new PollForJobsCommand({
          actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
        }),
      ),
      'ValidationException',
      /owner 'AWS' is not supported/,
    );
    await rejects(
      cp.send(
        new PollForJobsCommand({
          actionTypeId: { category: 'Build', owner: 'Custom', provider: 'Nope', version: '1' },
        }),
      ),
      'ActionTypeNotFoundException',
    );
    await cp.send(custom({ provider: 'Deleted' }));
    await cp.send(new DeleteCustomActionTypeCommand({ category: 'Test', provider: 'Deleted', version: '1' }));
    await rejects(
      cp.send(
        new PollForJobsCommand({
          actionTypeId: { category: 'Test', owner: 'Custom', provider: 'Deleted', version: '1' },
        }),
      ),
      'ActionTypeNotFoundException',
    );
    await rejects(
      cp.send(
        new PollForJobsCommand({
          actionTypeId: { category: 'Test', owner: 'Custom', provider: 'Deleted', version: '1' },
          maxBatchSize: 0,
        }),
      ),
      'ValidationException',
    );
  });

  it('PollForJobs: the queryable property must be supplied, and filters jobs', async () => {
    await cp.send(
      custom({
        provider: 'Queryable',
        configurationProperties: [
          { name: 'Project', required: true, key: true, secret: false, queryable: true },
        ],
      }),
    );
    const actionTypeId = { category: 'Test', owner: 'Custom', provider: 'Queryable', version: '1' } as const;
    await rejects(cp.send(new PollForJobsCommand({ actionTypeId })), 'ValidationException', /queryable/);
    const r = await cp.send(new PollForJobsCommand({ actionTypeId, queryParam: { Project: 'other' } }));
    expect(r.jobs).toEqual([]);
  });

  it('AcknowledgeJob: InvalidNonceException, JobNotFoundException, ValidationException', async () => {
    const demo = await startDemo(stack, cp);
    const job = await demo.poll();
    await rejects(
      cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: 'wrong' })),
      'InvalidNonceException',
    );
    await rejects(cp.send(new AcknowledgeJobCommand({ jobId: UNKNOWN, nonce: '1' })), 'JobNotFoundException');
    await rejects(
      cp.send(new AcknowledgeJobCommand({ jobId: 'not-a-uuid', nonce: '1' })),
      'ValidationException',
    );
    expect((await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }))).status).toBe(
      'InProgress',
    );
    // A second claim loses, and the claimed job is never handed out again.
    await rejects(
      cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce })),
      'InvalidNonceException',
    );
    expect(
      (await cp.send(new PollForJobsCommand({ actionTypeId: demo.actionTypeId, maxBatchSize: 10 }))).jobs,
    ).toEqual([]);
    await rejects(cp.send(new GetJobDetailsCommand({ jobId: UNKNOWN })), 'JobNotFoundException');
    const details = await cp.send(new GetJobDetailsCommand({ jobId: job.id }));
    expect(details.jobDetails?.data?.artifactCredentials?.accessKeyId).not.toBe(
      job.data?.artifactCredentials?.accessKeyId,
    );
  });

  it('PutJobSuccessResult: InvalidJobStateException, ValidationException, OutputVariablesSizeExceededException', async () => {
    const demo = await startDemo(stack, cp);
    const job = await demo.poll();
    await rejects(cp.send(new PutJobSuccessResultCommand({ jobId: job.id })), 'InvalidJobStateException');
    await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
    await rejects(cp.send(new PutJobSuccessResultCommand({ jobId: UNKNOWN })), 'JobNotFoundException');
    await rejects(
      cp.send(
        new PutJobSuccessResultCommand({
          jobId: job.id,
          continuationToken: 't',
          outputVariables: { a: 'b' },
        }),
      ),
      'ValidationException',
      /outputVariables/,
    );
    await rejects(
      cp.send(
        new PutJobSuccessResultCommand({ jobId: job.id, executionDetails: { summary: 'x'.repeat(2049) } }),
      ),
      'ValidationException',
    );
    await rejects(
      cp.send(new PutJobSuccessResultCommand({ jobId: job.id, executionDetails: { percentComplete: 101 } })),
      'ValidationException',
    );
    await rejects(
      cp.send(
        new PutJobSuccessResultCommand({
          jobId: job.id,
          executionDetails: { externalExecutionId: 'x'.repeat(1501) },
        }),
      ),
      'ValidationException',
    );
    await rejects(
      cp.send(
        new PutJobSuccessResultCommand({ jobId: job.id, outputVariables: { big: 'x'.repeat(122_880) } }),
      ),
      'OutputVariablesSizeExceededException',
    );
    await cp.send(new PutJobSuccessResultCommand({ jobId: job.id, outputVariables: { ok: '1' } }));
    await rejects(cp.send(new PutJobSuccessResultCommand({ jobId: job.id })), 'InvalidJobStateException');
    const exec = await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: demo.executionId }),
    );
    expect(exec.pipelineExecution?.status).toBe('Succeeded');
  });

  it('PutJobFailureResult: the action and the execution fail; validation of the failure type', async () => {
    const demo = await startDemo(stack, cp);
    const job = await demo.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
    await rejects(
      cp.send(
        new PutJobFailureResultCommand({
          jobId: job.id,
          failureDetails: { type: 'Oops' as never, message: 'x' },
        }),
      ),
      'ValidationException',
    );
    await cp.send(
      new PutJobFailureResultCommand({
        jobId: job.id,
        failureDetails: { type: 'ConfigurationError', message: 'bad config', externalExecutionId: 'run-7' },
      }),
    );
    await rejects(
      cp.send(
        new PutJobFailureResultCommand({
          jobId: job.id,
          failureDetails: { type: 'JobFailed', message: 'again' },
        }),
      ),
      'InvalidJobStateException',
    );
    const exec = await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: demo.executionId }),
    );
    expect(exec.pipelineExecution?.status).toBe('Failed');
    const actions = await cp.send(new ListActionExecutionsCommand({ pipelineName: demo.name }));
    const run = actions.actionExecutionDetails?.find((a) => a.actionName === 'Run');
    expect(run?.status).toBe('Failed');
    expect(run?.output?.executionResult?.errorDetails).toEqual({
      code: 'ConfigurationError',
      message: 'bad config',
    });
    expect(run?.output?.executionResult?.externalExecutionId).toBe('run-7');
  });

  it('job credentials reach only their own job objects', async () => {
    const a = await startDemo(stack, cp);
    const b = await startDemo(stack, cp);
    const ja = await a.poll();
    const jb = await b.poll();
    const s3For = (job: typeof ja) => {
      const c = job.data!.artifactCredentials!;
      return new S3Client({
        ...stack.clientConfig('s3'),
        credentials: {
          accessKeyId: c.accessKeyId!,
          secretAccessKey: c.secretAccessKey!,
          sessionToken: c.sessionToken!,
        },
        maxAttempts: 1,
      });
    };
    const inB = jb.data!.inputArtifacts![0]!.location!.s3Location!;
    await rejects(
      s3For(ja).send(new GetObjectCommand({ Bucket: inB.bucketName, Key: inB.objectKey })),
      'AccessDenied',
    );
    const outA = ja.data!.outputArtifacts![0]!.location!.s3Location!;
    await rejects(
      s3For(ja).send(new PutObjectCommand({ Bucket: outA.bucketName, Key: outA.objectKey, Body: 'x' })),
      'AccessDenied',
      /aws:kms/,
    );
    await s3For(ja).send(
      new PutObjectCommand({
        Bucket: outA.bucketName,
        Key: outA.objectKey,
        Body: 'x',
        ServerSideEncryption: 'aws:kms',
      }),
    );
  });
});

describe('registration and pipeline errors through the SDK', () => {
  it('CreateCustomActionType validates like AWS', async () => {
    await rejects(cp.send(custom({ provider: 'x'.repeat(36) })), 'ValidationException', /provider/);
    await rejects(cp.send(custom({ version: 'v.1' })), 'ValidationException', /version/);
    const prop = (name: string, o = {}) => ({ name, required: true, key: true, secret: false, ...o });
    await rejects(
      cp.send(custom({ configurationProperties: Array.from({ length: 11 }, (_, i) => prop(`P${i}`)) })),
      'ValidationException',
    );
    await rejects(
      cp.send(
        custom({ configurationProperties: [prop('A', { queryable: true }), prop('B', { queryable: true })] }),
      ),
      'ValidationException',
      /one queryable/,
    );
    await rejects(
      cp.send(custom({ configurationProperties: [prop('A', { queryable: true, secret: true })] })),
      'ValidationException',
    );
    await rejects(
      cp.send(
        custom({
          configurationProperties: [prop('S', { secret: true })],
          settings: { entityUrlTemplate: 'https://x/{Config:S}' },
        }),
      ),
      'ValidationException',
      /Config:S/,
    );
    await rejects(
      cp.send(custom({ inputArtifactDetails: { minimumCount: 0, maximumCount: 6 } })),
      'ValidationException',
    );
    await rejects(
      cp.send(custom({ tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' })) })),
      'TooManyTagsException',
    );
    await rejects(cp.send(custom({ tags: [{ key: '', value: 'v' }] })), 'InvalidTagsException');
    await rejects(cp.send(new ListActionTypesCommand({ nextToken: 'garbage' })), 'InvalidNextTokenException');
  });

  it('LimitExceededException past the custom action quota', async () => {
    const small = await startLocalStack({ maxCustomActionTypes: 1 });
    try {
      const c = codepipeline(small);
      await c.send(custom({ provider: 'One' }));
      await rejects(c.send(custom({ provider: 'Two' })), 'LimitExceededException');
    } finally {
      await small.stop();
    }
  });

  it('CreatePipeline and friends validate structure', async () => {
    const demo = await startDemo(stack, cp, { start: false });
    const { pipeline } = await cp.send(new GetPipelineCommand({ name: demo.name }));
    const variant = (f: (p: typeof pipeline) => void) => {
      const p = structuredClone(pipeline!);
      p.name = `${p.name}-v`;
      f(p);
      return cp.send(new CreatePipelineCommand({ pipeline: p }));
    };
    await rejects(cp.send(new CreatePipelineCommand({ pipeline })), 'PipelineNameInUseException');
    await rejects(
      variant((p) => p!.stages!.splice(1)),
      'InvalidStructureException',
      /at least 2 stages/,
    );
    await rejects(
      variant((p) => {
        p!.stages![1]!.actions![0]!.inputArtifacts = [{ name: 'Missing' }];
      }),
      'InvalidStructureException',
      /Missing/,
    );
    await rejects(
      variant((p) => {
        p!.stages![1]!.actions![0]!.actionTypeId!.provider = 'Unregistered';
      }),
      'InvalidActionDeclarationException',
    );
    await rejects(
      variant((p) => {
        p!.stages![1]!.actions![0]!.runOrder = 0;
      }),
      'ValidationException',
      /runOrder/,
    );
    await rejects(
      variant((p) => {
        p!.stages![0]!.actions!.push({ ...p!.stages![1]!.actions![0]!, name: 'Build2', inputArtifacts: [] });
      }),
      'InvalidStructureException',
      /only source actions/,
    );
    await rejects(
      variant((p) => {
        p!.stages![1]!.name = 'Source';
      }),
      'InvalidStructureException',
      /not unique/,
    );
    await rejects(cp.send(new GetPipelineCommand({ name: 'nope' })), 'PipelineNotFoundException');
    await rejects(
      cp.send(new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: UNKNOWN })),
      'PipelineExecutionNotFoundException',
    );
    const updated = await cp.send(new UpdatePipelineCommand({ pipeline }));
    expect(updated.pipeline?.version).toBe(2);
  });

  it('throttling and 5xx faults reach the SDK', async () => {
    stack.faults.set({ codepipeline: { ListPipelines: { throttleRate: 1 } } });
    // Only the named operation is affected.
    await cp.send(new ListActionTypesCommand({}));
    await rejects(cp.send(new ListPipelinesCommand({})), 'ThrottlingException');
    stack.faults.set({ codepipeline: { '*': { errorRate: 1 } } });
    await rejects(cp.send(new ListPipelinesCommand({})), 'InternalFailure');
    stack.faults.clear();
    await cp.send(new ListPipelinesCommand({}));
  });
});

describe('StopPipelineExecution', () => {
  it('stops after the running action, or abandons it at once', async () => {
    const waiting = await startDemo(stack, cp);
    const job = await waiting.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
    const ids = { pipelineName: waiting.name, pipelineExecutionId: waiting.executionId };
    await cp.send(new StopPipelineExecutionCommand({ ...ids, reason: 'enough' }));
    expect((await cp.send(new GetPipelineExecutionCommand(ids))).pipelineExecution?.status).toBe('Stopping');
    await rejects(cp.send(new StopPipelineExecutionCommand(ids)), 'DuplicatedStopRequestException');
    await cp.send(new PutJobSuccessResultCommand({ jobId: job.id }));
    expect((await cp.send(new GetPipelineExecutionCommand(ids))).pipelineExecution?.status).toBe('Stopped');
    await rejects(cp.send(new StopPipelineExecutionCommand(ids)), 'PipelineExecutionNotStoppableException');

    const abandoned = await startDemo(stack, cp);
    const job2 = await abandoned.poll();
    await cp.send(new AcknowledgeJobCommand({ jobId: job2.id, nonce: job2.nonce }));
    const ids2 = { pipelineName: abandoned.name, pipelineExecutionId: abandoned.executionId };
    await cp.send(new StopPipelineExecutionCommand({ ...ids2, abandon: true }));
    expect((await cp.send(new GetPipelineExecutionCommand(ids2))).pipelineExecution?.status).toBe('Stopped');
    await rejects(cp.send(new PutJobSuccessResultCommand({ jobId: job2.id })), 'InvalidJobStateException');
    const actions = await cp.send(new ListActionExecutionsCommand({ pipelineName: abandoned.name }));
    expect(actions.actionExecutionDetails?.find((a) => a.actionName === 'Run')?.status).toBe('Abandoned');
  });
});

describe('job credentials', () => {
  it('expire, and GetJobDetails hands out fresh ones', async () => {
    // Margins generous enough for a loaded CI machine: the read with fresh credentials must finish in the TTL.
    const s = await startLocalStack({ credentialsTtlMs: 1500 });
    try {
      const c = codepipeline(s);
      const demo = await startDemo(s, c);
      const job = await demo.poll();
      const input = job.data!.inputArtifacts![0]!.location!.s3Location!;
      const read = (creds: NonNullable<typeof job.data>['artifactCredentials']) =>
        new S3Client({
          ...s.clientConfig('s3'),
          credentials: {
            accessKeyId: creds!.accessKeyId!,
            secretAccessKey: creds!.secretAccessKey!,
            sessionToken: creds!.sessionToken!,
          },
          maxAttempts: 1,
        }).send(new GetObjectCommand({ Bucket: input.bucketName, Key: input.objectKey }));
      await new Promise((r) => setTimeout(r, 1600));
      await rejects(read(job.data!.artifactCredentials), 'ExpiredToken');
      const fresh = await c.send(new GetJobDetailsCommand({ jobId: job.id }));
      const got = await read(fresh.jobDetails!.data!.artifactCredentials);
      expect(got.ServerSideEncryption).toBe('aws:kms');
    } finally {
      await s.stop();
    }
  });
});

describe('job timeouts', () => {
  it('fails the action when no worker acknowledges, and when a claimed job stalls', async () => {
    const s = await startLocalStack({
      // A claim must land within redispatchMs of the poll, even on a loaded machine.
      jobTimeouts: { unacknowledgedMs: 1500, inProgressMs: 1000, redispatchMs: 500 },
    });
    try {
      const c = codepipeline(s);
      const unacked = await startDemo(s, c);
      const first = await unacked.poll();
      // Not claimed within redispatchMs: handed out again under a new nonce; the stale nonce loses.
      const again = await unacked.poll();
      expect(again.id).toBe(first.id);
      expect(again.nonce).not.toBe(first.nonce);
      await rejects(
        c.send(new AcknowledgeJobCommand({ jobId: first.id, nonce: first.nonce })),
        'InvalidNonceException',
      );
      const failed = await until(async () => {
        const e = await c.send(
          new GetPipelineExecutionCommand({
            pipelineName: unacked.name,
            pipelineExecutionId: unacked.executionId,
          }),
        );
        return e.pipelineExecution?.status === 'Failed' ? e : undefined;
      });
      expect(failed.pipelineExecution?.statusSummary).toMatch(/timed out/);

      const stalled = await startDemo(s, c);
      const job = await stalled.poll();
      await c.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
      await until(async () => {
        const e = await c.send(
          new GetPipelineExecutionCommand({
            pipelineName: stalled.name,
            pipelineExecutionId: stalled.executionId,
          }),
        );
        return e.pipelineExecution?.status === 'Failed' ? e : undefined;
      });
      await rejects(c.send(new PutJobSuccessResultCommand({ jobId: job.id })), 'InvalidJobStateException');
      const actions = await c.send(new ListActionExecutionsCommand({ pipelineName: stalled.name }));
      expect(
        actions.actionExecutionDetails?.find((a) => a.actionName === 'Run')?.output?.executionResult
          ?.errorDetails?.code,
      ).toBe('TimedOut');
    } finally {
      await s.stop();
    }
  });
});
