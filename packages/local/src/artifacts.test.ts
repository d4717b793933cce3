import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  AcknowledgeJobCommand,
  GetPipelineExecutionCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codepipeline, startDemo, until } from './__fixtures__/pipeline.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './stack.js';

/**
 * The artifact flow of a job, run once against the built-in S3 server and once more against moto_server
 * (when it is on PATH) through the `externalS3` option, so the artifact code is not shaped by one server.
 */

const hasMoto = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Backend {
  name: string;
  enabled: boolean;
  setup(): Promise<LocalStackOptions>;
  teardown(): Promise<void>;
}

let moto: ChildProcess | undefined;
const backends: Backend[] = [
  { name: 'built-in S3 server', enabled: true, setup: async () => ({}), teardown: async () => {} },
  {
    name: 'moto_server',
    enabled: hasMoto,
    async setup() {
      const port = await freePort();
      moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      const endpoint = `http://127.0.0.1:${port}`;
      await until(
        async () => ((await fetch(`${endpoint}/moto-api/`).catch(() => undefined))?.ok ? true : undefined),
        20_000,
      );
      return { externalS3: { endpoint } };
    },
    async teardown() {
      if (!moto) return;
      const exited = new Promise((r) => moto!.once('exit', r));
      moto.kill('SIGTERM');
      await exited;
    },
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.enabled)(`artifacts on the ${backend.name}`, () => {
    let stack: LocalStack;
    beforeAll(async () => {
      stack = await startLocalStack(await backend.setup());
    }, 30_000);
    afterAll(async () => {
      await stack?.stop();
      await backend.teardown();
    });

    it('a job reads its source artifact and writes a multipart output artifact with SSE-KMS', async () => {
      const cp = codepipeline(stack);
      const demo = await startDemo(stack, cp);
      const job = await demo.poll();
      await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
      const c = job.data!.artifactCredentials!;
      const s3 = new S3Client({
        ...stack.clientConfig('s3'),
        credentials: {
          accessKeyId: c.accessKeyId!,
          secretAccessKey: c.secretAccessKey!,
          sessionToken: c.sessionToken!,
        },
        maxAttempts: 1,
      });
      const input = job.data!.inputArtifacts![0]!.location!.s3Location!;
      const zip = Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: input.bucketName, Key: input.objectKey }))
        ).Body!.transformToByteArray(),
      );
      expect(zip.subarray(0, 2).toString()).toBe('PK');

      const out = job.data!.outputArtifacts![0]!.location!.s3Location!;
      const body = randomBytes(11 * 1024 * 1024);
      await new Upload({
        client: s3,
        params: { Bucket: out.bucketName, Key: out.objectKey, Body: body, ServerSideEncryption: 'aws:kms' },
      }).done();
      const head = await s3.send(new HeadObjectCommand({ Bucket: out.bucketName, Key: out.objectKey }));
      expect(head.ContentLength).toBe(body.length);
      expect(head.ServerSideEncryption).toBe('aws:kms');
      const range = await s3.send(
        new GetObjectCommand({ Bucket: out.bucketName, Key: out.objectKey, Range: 'bytes=5242878-5242881' }),
      );
      expect(Buffer.from(await range.Body!.transformToByteArray())).toEqual(body.subarray(5242878, 5242882));

      await cp.send(new PutJobSuccessResultCommand({ jobId: job.id }));
      const exec = await cp.send(
        new GetPipelineExecutionCommand({ pipelineName: demo.name, pipelineExecutionId: demo.executionId }),
      );
      expect(exec.pipelineExecution?.status).toBe('Succeeded');
      const admin = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 1 });
      const listed = await admin.send(
        new ListObjectsV2Command({ Bucket: stack.artifactBucket, Prefix: `${demo.name}/` }),
      );
      expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([input.objectKey, out.objectKey].sort());
    });
  });
}

// moto_server is rarely on PATH, so the external-endpoint backend (loaded only for `externalS3`) is also run
// against a second stack's S3 server. Job credentials are the first stack's and mean nothing to the second,
// so this covers what the stack itself does there: create the bucket, write the source artifact with SSE-KMS.
describe('artifacts on an external endpoint (a second stack)', () => {
  let inner: LocalStack;
  let outer: LocalStack;
  beforeAll(async () => {
    inner = await startLocalStack({ artifactBucket: 'external-artifacts' });
    outer = await startLocalStack({
      artifactBucket: 'external-artifacts',
      externalS3: { endpoint: inner.endpoints.s3 },
    });
  }, 30_000);
  afterAll(async () => {
    await outer?.stop();
    await inner?.stop();
  });

  it('the source action writes its artifact to the external endpoint, encrypted with SSE-KMS', async () => {
    const cp = codepipeline(outer);
    const demo = await startDemo(outer, cp);
    const job = await demo.poll();
    const input = job.data!.inputArtifacts![0]!.location!.s3Location!;
    expect(input.bucketName).toBe('external-artifacts');
    const s3 = new S3Client({ ...inner.clientConfig('s3'), maxAttempts: 1 });
    const got = await s3.send(new GetObjectCommand({ Bucket: input.bucketName, Key: input.objectKey }));
    expect(got.ServerSideEncryption).toBe('aws:kms');
    const zip = Buffer.from(await got.Body!.transformToByteArray());
    expect(zip.subarray(0, 2).toString()).toBe('PK');
  });
});
