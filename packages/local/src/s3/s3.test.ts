import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../credentials.js';
import { Faults } from '../faults.js';
import { close, listen } from '../http.js';
import { calculateSignature, signingKey } from '../sigv4.js';
import { createS3Server } from './server.js';
import { ObjectStore } from './store.js';

const admin = { accessKeyId: 'AKIATESTADMIN', secretAccessKey: 'admin-secret' };
const dir = mkdtempSync(join(tmpdir(), 'pw-s3-'));
const credentials = new CredentialStore(admin, 60_000);
const store = new ObjectStore(join(dir, 'data'));
const faults = new Faults();
const server = createS3Server({
  store,
  credentials,
  faults,
  region: 'us-east-1',
  accountId: '123456789012',
  kmsRequiredBuckets: new Set(['artifacts']),
});
let endpoint = '';
const client = (creds = admin) =>
  new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });

beforeAll(async () => {
  endpoint = await listen(server, '127.0.0.1', 0);
  await client().send(new CreateBucketCommand({ Bucket: 'plain' }));
  await client().send(new CreateBucketCommand({ Bucket: 'artifacts' }));
});
afterAll(async () => {
  await close(server);
  rmSync(dir, { recursive: true, force: true });
});

describe('S3 with the SDK defaults', () => {
  it('round-trips a Buffer and a stream body (aws-chunked + CRC32 trailer)', async () => {
    const s3 = client();
    await s3.send(
      new PutObjectCommand({
        Bucket: 'plain',
        Key: 'a/b.txt',
        Body: 'hello world',
        ContentType: 'text/plain',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a/b.txt' }));
    expect(await got.Body!.transformToString()).toBe('hello world');
    expect(got.ContentType).toBe('text/plain');
    const file = join(dir, 'stream.txt');
    writeFileSync(file, 'small file contents\n');
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'stream.txt', Body: createReadStream(file) }));
    const back = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'stream.txt' }));
    expect(await back.Body!.transformToString()).toBe('small file contents\n');
  });

  it('accepts UNSIGNED-PAYLOAD streams (checksums only when required)', async () => {
    const s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const file = join(dir, 'signed.txt');
    writeFileSync(file, 'x'.repeat(200_000));
    const seenHashes: string[] = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        const h = (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'];
        if (h) seenHashes.push(h);
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'seeHash' },
    );
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'signed', Body: createReadStream(file) }));
    const back = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'signed' }));
    expect((await back.Body!.transformToString()).length).toBe(200_000);
    expect(seenHashes[0]).toBe('UNSIGNED-PAYLOAD');
  });

  it('verifies signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) end to end', async () => {
    const url = new URL(endpoint);
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const date = amzDate.slice(0, 8);
    const payloadHash = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    const chunks = [Buffer.alloc(70_000, 'x'), Buffer.alloc(500, 'y'), Buffer.alloc(0)];
    const headers: Record<string, string> = {
      host: url.host,
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      'x-amz-decoded-content-length': '70500',
    };
    const auth = {
      accessKeyId: admin.accessKeyId,
      date,
      region: 'us-east-1',
      service: 's3',
      signedHeaders: Object.keys(headers).sort(),
      signature: '',
    };
    const put = async (key: string, tamper: boolean) => {
      const common = {
        method: 'PUT',
        url: `/plain/${key}`,
        headers,
        auth,
        secretAccessKey: admin.secretAccessKey,
        payloadHash,
        doubleEncodePath: false,
        amzDate,
      };
      const seed = calculateSignature(common);
      const keyBytes = signingKey(admin.secretAccessKey, date, 'us-east-1', 's3');
      let previous = seed;
      const parts: Buffer[] = [];
      for (const c of chunks) {
        const sts = [
          'AWS4-HMAC-SHA256-PAYLOAD',
          amzDate,
          `${date}/us-east-1/s3/aws4_request`,
          previous,
          createHash('sha256').digest('hex'),
          createHash('sha256').update(c).digest('hex'),
        ].join('\n');
        previous = createHmac('sha256', keyBytes).update(sts).digest('hex');
        const sent = tamper && c.length === 500 ? Buffer.alloc(500, 'z') : c;
        parts.push(
          Buffer.from(`${c.length.toString(16)};chunk-signature=${previous}\r\n`),
          sent,
          Buffer.from('\r\n'),
        );
      }
      const body = Buffer.concat(parts);
      const authorization = `AWS4-HMAC-SHA256 Credential=${admin.accessKeyId}/${date}/us-east-1/s3/aws4_request, SignedHeaders=${auth.signedHeaders.join(';')}, Signature=${seed}`;
      const res = await fetch(`${endpoint}/plain/${key}`, {
        method: 'PUT',
        headers: { ...headers, authorization, 'content-length': String(body.length) },
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    expect((await put('chunked', false)).status).toBe(200);
    const got = await client().send(new GetObjectCommand({ Bucket: 'plain', Key: 'chunked' }));
    expect((await got.Body!.transformToByteArray()).length).toBe(70_500);
    const bad = await put('chunked-bad', true);
    expect(bad.status).toBe(403);
    expect(bad.text).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('serves ranges and rejects unsatisfiable ones', async () => {
    const s3 = client();
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'r', Body: '0123456789' }));
    const r = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'r', Range: 'bytes=2-4' }));
    expect(await r.Body!.transformToString()).toBe('234');
    expect(r.ContentRange).toBe('bytes 2-4/10');
    const s = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'r', Range: 'bytes=-3' }));
    expect(await s.Body!.transformToString()).toBe('789');
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'r', Range: 'bytes=20-' })),
    ).rejects.toMatchObject({
      name: 'InvalidRange',
    });
  });

  it('serves bodies and ranges larger than one read of the object file', async () => {
    const s3 = client();
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'multi-read', Body: data }));
    const all = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'multi-read' }));
    expect(Buffer.from(await all.Body!.transformToByteArray()).equals(data)).toBe(true);
    const from = 1000;
    const to = 2 * 1024 * 1024 + 17;
    const part = await s3.send(
      new GetObjectCommand({ Bucket: 'plain', Key: 'multi-read', Range: `bytes=${from}-${to}` }),
    );
    expect(Buffer.from(await part.Body!.transformToByteArray()).equals(data.subarray(from, to + 1))).toBe(
      true,
    );
  });

  it('uploads multipart with lib-storage and SSE-KMS, and echoes SSE on GET/HEAD', async () => {
    const s3 = client();
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const up = new Upload({
      client: s3,
      params: {
        Bucket: 'artifacts',
        Key: 'big.bin',
        Body: data,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'alias/k',
      },
    });
    await up.done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'artifacts', Key: 'big.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe('alias/k');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'big.bin' }));
    const bytes = await got.Body!.transformToByteArray();
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    const mid = await s3.send(
      new GetObjectCommand({
        Bucket: 'artifacts',
        Key: 'big.bin',
        Range: `bytes=${5 * 1024 * 1024 - 2}-${5 * 1024 * 1024 + 1}`,
      }),
    );
    expect(Buffer.from(await mid.Body!.transformToByteArray())).toEqual(
      data.subarray(5 * 1024 * 1024 - 2, 5 * 1024 * 1024 + 2),
    );
  });

  it('denies uploads to the artifact bucket without aws:kms', async () => {
    // 3 MiB: the SDK sends Expect: 100-continue, and the refusal comes before the body.
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    await expect(
      client().send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'x', Body: big })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await client().send(
      new PutObjectCommand({ Bucket: 'artifacts', Key: 'x', Body: big, ServerSideEncryption: 'aws:kms' }),
    );
    await expect(
      client().send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'x', Body: 'x' })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });

  it('evaluates If-Match and If-None-Match', async () => {
    const s3 = client();
    const put = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'cond', Body: 'v1' }));
    const ok = await s3.send(
      new GetObjectCommand({ Bucket: 'plain', Key: 'cond', IfMatch: put.ETag, Range: 'bytes=0-0' }),
    );
    expect(await ok.Body!.transformToString()).toBe('v');
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'cond', Body: 'v2' }));
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'cond', IfMatch: put.ETag })),
    ).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    const current = await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'cond' }));
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'cond', IfNoneMatch: current.ETag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
  });

  it('copies objects (CopyObject) instead of treating them as empty uploads', async () => {
    const s3 = client();
    await s3.send(
      new PutObjectCommand({ Bucket: 'plain', Key: 'copy/src', Body: 'copied bytes', Metadata: { a: '1' } }),
    );
    const r = await s3.send(
      new CopyObjectCommand({ Bucket: 'plain', Key: 'copy/dst', CopySource: 'plain/copy/src' }),
    );
    expect(r.CopyObjectResult?.ETag).toBeTruthy();
    await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'copy/src' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'copy/dst' }));
    expect(await got.Body!.transformToString()).toBe('copied bytes');
    expect(got.Metadata).toEqual({ a: '1' });
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: 'plain', Key: 'copy/x', CopySource: 'plain/copy/missing' })),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('lists, deletes and reports missing keys and buckets', async () => {
    const s3 = client();
    for (const k of ['l/1', 'l/2', 'l/d/3', 'l/d/4'])
      await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: k, Body: k }));
    const all = await s3.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'l/', Delimiter: '/' }));
    expect(all.Contents?.map((c) => c.Key)).toEqual(['l/1', 'l/2']);
    expect(all.CommonPrefixes?.map((c) => c.Prefix)).toEqual(['l/d/']);
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'l/', MaxKeys: 3 }));
    expect(page.IsTruncated).toBe(true);
    const next = await s3.send(
      new ListObjectsV2Command({
        Bucket: 'plain',
        Prefix: 'l/',
        ContinuationToken: page.NextContinuationToken,
      }),
    );
    expect(next.Contents?.map((c) => c.Key)).toEqual(['l/d/4']);
    await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'l/1' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'l/1' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'l/1' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'nope', Key: 'x' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'nope' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('rejects unknown keys and bad secrets', async () => {
    await expect(
      client({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }).send(
        new GetObjectCommand({ Bucket: 'plain', Key: 'r' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await expect(
      client({ accessKeyId: admin.accessKeyId, secretAccessKey: 'wrong' }).send(
        new GetObjectCommand({ Bucket: 'plain', Key: 'r' }),
      ),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  });

  it('scopes session credentials to their objects and expires them', async () => {
    const s = credentials.issue({ bucket: 'artifacts', readKeys: ['in'], writeKeys: ['out'], jobId: 'j' });
    const s3 = client(s);
    await client().send(
      new PutObjectCommand({
        Bucket: 'artifacts',
        Key: 'in',
        Body: 'input',
        ServerSideEncryption: 'aws:kms',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'in' }));
    expect(await got.Body!.transformToString()).toBe('input');
    await s3.send(
      new PutObjectCommand({ Bucket: 'artifacts', Key: 'out', Body: 'o', ServerSideEncryption: 'aws:kms' }),
    );
    await expect(
      s3.send(
        new PutObjectCommand({ Bucket: 'artifacts', Key: 'in', Body: 'o', ServerSideEncryption: 'aws:kms' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'big.bin' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    s.expiresAt = Date.now() - 1;
    await expect(s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'in' }))).rejects.toMatchObject({
      name: 'ExpiredToken',
    });
  });

  it('accepts presigned URLs and refuses expired or tampered ones', async () => {
    await client().send(new PutObjectCommand({ Bucket: 'plain', Key: 'pre sign/d.txt', Body: 'presigned' }));
    const url = await getSignedUrl(
      client(),
      new GetObjectCommand({ Bucket: 'plain', Key: 'pre sign/d.txt' }),
      {
        expiresIn: 60,
      },
    );
    const ok = await fetch(url);
    expect(await ok.text()).toBe('presigned');
    const put = await getSignedUrl(client(), new PutObjectCommand({ Bucket: 'plain', Key: 'uploaded' }), {
      expiresIn: 60,
    });
    expect((await fetch(put, { method: 'PUT', body: 'via url' })).status).toBe(200);
    const back = await client().send(new GetObjectCommand({ Bucket: 'plain', Key: 'uploaded' }));
    expect(await back.Body!.transformToString()).toBe('via url');
    const tampered = await fetch(url.replace('d.txt', 'e.txt'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const old = await getSignedUrl(
      client(),
      new GetObjectCommand({ Bucket: 'plain', Key: 'pre sign/d.txt' }),
      {
        expiresIn: 1,
        signingDate: new Date(Date.now() - 10_000),
      },
    );
    const expired = await fetch(old);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
  });

  it('injects throttling and mid-body resets', async () => {
    faults.set({ s3: { GetObject: { throttleRate: 1 } } });
    await expect(client().send(new GetObjectCommand({ Bucket: 'plain', Key: 'r' }))).rejects.toMatchObject({
      name: 'SlowDown',
    });
    faults.set({ s3: { GetObject: { resetRate: 1 } } });
    const got = await client().send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'big.bin' }));
    await expect(got.Body!.transformToByteArray()).rejects.toThrow();
    faults.clear();
  });
});
