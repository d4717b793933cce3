import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AcknowledgeJobCommand,
  GetPipelineExecutionCommand,
  ListPipelinesCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { codepipeline, startDemo } from './__fixtures__/pipeline.js';
import { Faults } from './faults.js';
import { startLocalStack } from './stack.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-persist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('a restart with persistDir loses nothing: pipelines, jobs, credentials and objects', async () => {
    const first = await startLocalStack({ persistDir: dir });
    const cp = codepipeline(first);
    const demo = await startDemo(first, cp);
    const job = await demo.poll();
    const s3 = new S3Client({ ...first.clientConfig('s3'), maxAttempts: 1 });
    await s3.send(
      new PutObjectCommand({
        Bucket: first.artifactBucket,
        Key: 'kept',
        Body: 'still here',
        ServerSideEncryption: 'aws:kms',
      }),
    );
    await first.stop();

    const second = await startLocalStack({ persistDir: dir });
    try {
      const cp2 = codepipeline(second);
      const s3b = new S3Client({ ...second.clientConfig('s3'), maxAttempts: 1 });
      expect((await cp2.send(new ListPipelinesCommand({}))).pipelines?.map((p) => p.name)).toContain(
        demo.name,
      );
      const kept = await s3b.send(new GetObjectCommand({ Bucket: second.artifactBucket, Key: 'kept' }));
      expect(await kept.Body!.transformToString()).toBe('still here');
      // The job handed out before the restart can still be claimed and its credentials still work.
      await cp2.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
      const c = job.data!.artifactCredentials!;
      const input = job.data!.inputArtifacts![0]!.location!.s3Location!;
      const jobS3 = new S3Client({
        ...second.clientConfig('s3'),
        credentials: {
          accessKeyId: c.accessKeyId!,
          secretAccessKey: c.secretAccessKey!,
          sessionToken: c.sessionToken!,
        },
        maxAttempts: 1,
      });
      const artifact = await jobS3.send(
        new GetObjectCommand({ Bucket: input.bucketName, Key: input.objectKey }),
      );
      expect((await artifact.Body!.transformToByteArray()).length).toBeGreaterThan(0);
      await cp2.send(new PutJobSuccessResultCommand({ jobId: job.id }));
      const exec = await cp2.send(
        new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: demo.executionId }),
      );
      expect(exec.pipelineExecution?.status).toBe('Succeeded');
    } finally {
      await second.stop();
    }
  });
});

describe('fault injection', () => {
  it('is reproducible from a seed and changeable at runtime', () => {
    const spec = { s3: { GetObject: { throttleRate: 0.3, errorRate: 0.3, resetRate: 0.3 } } };
    const run = (f: Faults) => Array.from({ length: 50 }, () => JSON.stringify(f.decide('s3', 'GetObject')));
    const a = run(new Faults(spec, 7));
    expect(run(new Faults(spec, 7))).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(2);
    const f = new Faults(spec, 7);
    f.set({ s3: { '*': { latencyMs: 5 } } });
    expect(f.decide('s3', 'PutObject')).toEqual({
      latencyMs: 5,
      throttle: false,
      serverError: false,
      reset: false,
    });
    expect(f.decide('codepipeline', 'PollForJobs').latencyMs).toBe(0);
  });

  it('adds latency to a service', async () => {
    const stack = await startLocalStack({ faults: { codepipeline: { ListPipelines: { latencyMs: 120 } } } });
    try {
      const cp = codepipeline(stack);
      const t = Date.now();
      await cp.send(new ListPipelinesCommand({}));
      expect(Date.now() - t).toBeGreaterThanOrEqual(110);
      expect(stack.faults.injected.latency).toBe(1);
    } finally {
      await stack.stop();
    }
  });
});
