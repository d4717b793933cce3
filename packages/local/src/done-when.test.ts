import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AcknowledgeJobCommand,
  CodePipelineClient,
  CreateCustomActionTypeCommand,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  PollForJobsCommand,
  PutJobSuccessResultCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { type LocalStack, localFolderSource, startLocalStack } from './index.js';

let stack: LocalStack;
let cp: CodePipelineClient;
const dir = mkdtempSync(join(tmpdir(), 'pw-done-'));

beforeAll(async () => {
  stack = await startLocalStack();
  cp = new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 1 });
  mkdirSync(join(dir, 'src', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'src', 'README.md'), '# hello\n');
  writeFileSync(join(dir, 'src', 'bin', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('README.md', join(dir, 'src', 'link.md'));
});
afterAll(async () => {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function zipEntries(buffer: Buffer): Promise<{ name: string; mode: number; content: string }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (e, zip) => {
      if (e || !zip) return reject(e);
      const out: { name: string; mode: number; content: string }[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        const mode = entry.externalFileAttributes >>> 16;
        if (entry.fileName.endsWith('/')) {
          out.push({ name: entry.fileName, mode, content: '' });
          return zip.readEntry();
        }
        zip.openReadStream(entry, (err2, stream) => {
          if (err2 || !stream) return reject(err2);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.push({ name: entry.fileName, mode, content: Buffer.concat(chunks).toString() });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

describe('done when', () => {
  it('runs local source -> custom Build action played by hand through the SDK', async () => {
    const actionTypeId = {
      category: 'Build',
      owner: 'Custom',
      provider: 'Pipewright-Demo',
      version: '1',
    } as const;
    await cp.send(
      new CreateCustomActionTypeCommand({
        category: 'Build',
        provider: 'Pipewright-Demo',
        version: '1',
        settings: { executionUrlTemplate: 'https://ci.example/{Config:Project}/runs/{ExternalExecutionId}' },
        configurationProperties: [
          { name: 'Project', required: true, key: true, secret: false, queryable: true, type: 'String' },
          { name: 'Token', required: false, key: false, secret: true, type: 'String' },
        ],
        inputArtifactDetails: { minimumCount: 1, maximumCount: 1 },
        outputArtifactDetails: { minimumCount: 0, maximumCount: 1 },
      }),
    );
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name: 'demo-pipeline',
          roleArn: `arn:aws:iam::${stack.accountId}:role/pipeline`,
          artifactStore: {
            type: 'S3',
            location: stack.artifactBucket,
            encryptionKey: {
              id: `arn:aws:kms:${stack.region}:${stack.accountId}:alias/pipeline`,
              type: 'KMS',
            },
          },
          stages: [
            {
              name: 'Source',
              actions: [localFolderSource(join(dir, 'src'), { name: 'Checkout' })],
            },
            {
              name: 'Build',
              actions: [
                {
                  name: 'Compile',
                  actionTypeId,
                  configuration: { Project: 'web', Token: 's3cr3t' },
                  inputArtifacts: [{ name: 'SourceOutput' }],
                  outputArtifacts: [{ name: 'BuildOutput' }],
                  namespace: 'CompileVars',
                },
              ],
            },
          ],
        },
      }),
    );
    const { pipelineExecutionId } = await cp.send(
      new StartPipelineExecutionCommand({ name: 'demo-pipeline' }),
    );

    // Poll until the source stage has produced the artifact and the build job is queued.
    const job = await until(async () => {
      const r = await cp.send(
        new PollForJobsCommand({ actionTypeId, maxBatchSize: 5, queryParam: { Project: 'web' } }),
      );
      return r.jobs?.[0];
    });
    expect(job.accountId).toBe(stack.accountId);
    const data = job.data!;
    expect(data.actionConfiguration?.configuration).toEqual({ Project: 'web', Token: 's3cr3t' });
    expect(data.pipelineContext).toMatchObject({
      pipelineName: 'demo-pipeline',
      stage: { name: 'Build' },
      action: { name: 'Compile' },
      pipelineArn: `arn:aws:codepipeline:${stack.region}:${stack.accountId}:demo-pipeline`,
      pipelineExecutionId,
    });
    expect(data.inputArtifacts?.[0]?.location?.s3Location?.objectKey).toMatch(
      /^demo-pipeline\/SourceOutp\/[A-Za-z0-9]{7}$/,
    );
    expect(data.encryptionKey).toEqual({
      id: `arn:aws:kms:${stack.region}:${stack.accountId}:alias/pipeline`,
      type: 'KMS',
    });
    expect((await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }))).status).toBe(
      'InProgress',
    );

    // The worker's artifact client: the job's own credentials, default SDK settings.
    const creds = data.artifactCredentials!;
    const s3 = new S3Client({
      ...stack.clientConfig('s3'),
      credentials: {
        accessKeyId: creds.accessKeyId!,
        secretAccessKey: creds.secretAccessKey!,
        sessionToken: creds.sessionToken!,
      },
      maxAttempts: 1,
    });
    const input = data.inputArtifacts![0]!.location!.s3Location!;
    const got = await s3.send(new GetObjectCommand({ Bucket: input.bucketName, Key: input.objectKey }));
    expect(got.ServerSideEncryption).toBe('aws:kms');
    const entries = await zipEntries(Buffer.from(await got.Body!.transformToByteArray()));
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(byName['README.md']?.content).toBe('# hello\n');
    expect(byName['bin/run.sh']?.mode).toBe(0o100755);
    expect((byName['link.md']?.mode ?? 0) & 0o170000).toBe(0o120000);
    expect(byName['link.md']?.content).toBe('README.md');

    const output = data.outputArtifacts![0]!.location!.s3Location!;
    await new Upload({
      client: s3,
      params: {
        Bucket: output.bucketName,
        Key: output.objectKey,
        Body: Buffer.from('built'),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: data.encryptionKey!.id,
      },
    }).done();

    await cp.send(
      new PutJobSuccessResultCommand({
        jobId: job.id,
        continuationToken: JSON.stringify({ v: 1, runId: '42' }),
        executionDetails: { externalExecutionId: '42', summary: 'build started', percentComplete: 10 },
      }),
    );
    const next = await until(async () => {
      const r = await cp.send(
        new PollForJobsCommand({ actionTypeId, maxBatchSize: 1, queryParam: { Project: 'web' } }),
      );
      return r.jobs?.[0];
    });
    expect(next.id).not.toBe(job.id);
    expect(next.data?.continuationToken).toBe(JSON.stringify({ v: 1, runId: '42' }));
    await cp.send(new AcknowledgeJobCommand({ jobId: next.id, nonce: next.nonce }));
    await cp.send(
      new PutJobSuccessResultCommand({
        jobId: next.id,
        executionDetails: { externalExecutionId: '42', summary: 'build passed', percentComplete: 100 },
        outputVariables: { passed: '12', failed: '0' },
      }),
    );

    const execution = await cp.send(
      new GetPipelineExecutionCommand({ pipelineName: 'demo-pipeline', pipelineExecutionId }),
    );
    expect(execution.pipelineExecution?.status).toBe('Succeeded');
    const actions = await cp.send(
      new ListActionExecutionsCommand({ pipelineName: 'demo-pipeline', filter: { pipelineExecutionId } }),
    );
    const compile = actions.actionExecutionDetails?.find((a) => a.actionName === 'Compile');
    expect(compile?.status).toBe('Succeeded');
    expect(compile?.output?.executionResult).toMatchObject({
      externalExecutionId: '42',
      externalExecutionSummary: 'build passed',
      externalExecutionUrl: 'https://ci.example/web/runs/42',
    });
    expect(compile?.output?.outputVariables).toEqual({ passed: '12', failed: '0' });
    expect(compile?.input?.namespace).toBe('CompileVars');
    expect(actions.actionExecutionDetails?.find((a) => a.actionName === 'Checkout')?.status).toBe(
      'Succeeded',
    );
  });
});
