import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTree, rawTar, rawZip, snapshot, tempDir } from './__fixtures__/archives.js';
import { artifactFailure, putArtifact } from './__fixtures__/s3.js';
import { createArtifactClient, downloadArtifact, type S3Location, uploadArtifact } from './index.js';

let stack: LocalStack;
let admin: S3Client;
let work: string;
let tree: string;
let n = 0;
const dest = () => join(work, `out-${n++}`);
const loc = (key: string): S3Location => ({ bucket: stack.artifactBucket, key });

/** A client with job-scoped credentials, as CodePipeline hands them to a worker in artifactCredentials. */
function jobClient(readKeys: string[], writeKeys: string[], issuedAt = Date.now()): S3Client {
  const session = stack.state.codepipeline.credentials.issue(
    { bucket: stack.artifactBucket, readKeys, writeKeys, jobId: `job-${n++}` },
    issuedAt,
  );
  const { endpoint, region } = stack.clientConfig('s3');
  return createArtifactClient({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    },
  });
}

const put = (key: string, body: Buffer) => putArtifact(admin, stack.artifactBucket, key, body);
const failure = artifactFailure;

beforeAll(async () => {
  stack = await startLocalStack();
  admin = createArtifactClient(stack.clientConfig('s3'));
  work = await tempDir();
  tree = join(work, 'tree');
  await makeTree(tree);
});
afterAll(async () => {
  admin?.destroy();
  await stack?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

describe('upload and download through the local stack', () => {
  it('round-trips a tree with job credentials: modes, symlinks, empty folders; always aws:kms', async () => {
    const key = 'pipe/Build/out-1.zip';
    const s3 = jobClient([key], [key]);
    const up = await uploadArtifact(s3, tree, loc(key), {
      kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k1',
    });
    expect(up.files).toBe(7);
    expect(up.bytes).toBeGreaterThan(0);
    const head = await admin.send(new HeadObjectCommand({ Bucket: stack.artifactBucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe('arn:aws:kms:us-east-1:123456789012:key/k1');
    expect(head.ContentLength).toBe(up.bytes);

    const out = dest();
    const down = await downloadArtifact(s3, loc(key), out);
    expect(down.format).toBe('zip');
    expect(down.files).toBe(7);
    expect(await snapshot(out)).toEqual(await snapshot(tree));
  });

  it('uploads with the default aws/s3 key when none is given, and an empty folder as an empty zip', async () => {
    const empty = join(work, 'empty');
    await fs.mkdir(empty);
    const key = 'pipe/Build/empty.zip';
    const up = await uploadArtifact(admin, empty, loc(key));
    expect(up).toEqual({ bytes: 22, files: 0 });
    const head = await admin.send(new HeadObjectCommand({ Bucket: stack.artifactBucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    const down = await downloadArtifact(admin, loc(key), dest());
    expect(down).toEqual({ format: 'zip', files: 0, bytes: 0 });
  });

  it('uses multipart with parallel parts for a large artifact and resumes GETs reset mid-body', async () => {
    const big = join(work, 'big');
    await fs.mkdir(big);
    for (let i = 0; i < 4; i++) await fs.writeFile(join(big, `r${i}.bin`), randomBytes(4 * 1024 * 1024));
    const key = 'pipe/Build/big.zip';
    const up = await uploadArtifact(admin, big, loc(key), { partSize: 5 * 1024 * 1024, queueSize: 3 });
    expect(up.bytes).toBeGreaterThan(16 * 1024 * 1024);

    stack.faults.set({ s3: { GetObject: { resetRate: 0.5 } } }, 7);
    const resetsBefore = stack.faults.injected.reset;
    try {
      const out = dest();
      const down = await downloadArtifact(admin, loc(key), out);
      expect(down.bytes).toBe(16 * 1024 * 1024);
      expect(await snapshot(out)).toEqual(await snapshot(big));
      expect(stack.faults.injected.reset).toBeGreaterThan(resetsBefore);
    } finally {
      stack.faults.clear();
    }
  });

  let small: string | undefined;
  it.each([
    { level: 6, how: 'deflated by threads' },
    { level: 0, how: 'stored' },
  ])(
    'zips thousands of small files, $how, into a multipart upload that extracts to the same tree',
    async ({ level }) => {
      // Small files' buffers are freed as soon as the body has copied them; the body's chunks are reused
      // once lib-storage has copied them into parts. Files under 4 KiB come from Node's shared buffer pool,
      // which must never be freed: a freed buffer still in use would corrupt the archive.
      if (!small) {
        small = join(work, 'small');
        for (let d = 0; d < 20; d++) await fs.mkdir(join(small, `d${d}`), { recursive: true });
        await Promise.all(
          Array.from({ length: 3000 }, (_, i) =>
            fs.writeFile(
              join(small!, `d${i % 20}`, `f${i}.bin`),
              randomBytes(i % 10 === 0 ? 30_000 : (i * 37) % 4000),
            ),
          ),
        );
      }
      const key = `pipe/Build/small-${level}.zip`;
      const up = await uploadArtifact(admin, small, loc(key), {
        partSize: 5 * 1024 * 1024,
        queueSize: 2,
        compressionLevel: level,
      });
      expect(up.bytes).toBeGreaterThan(10 * 1024 * 1024); // three parts
      const out = dest();
      await downloadArtifact(admin, loc(key), out);
      expect(await snapshot(out)).toEqual(await snapshot(small));
    },
  );

  it('resumes a tar.gz stream whose GETs are reset mid-body', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    await put('pipe/Src/big.tgz', rawTar([{ name: 'big.bin', data }], true));
    // Every GET is cut after half its body: the download only finishes by resuming again and again.
    stack.faults.set({ s3: { GetObject: { resetRate: 1 } } }, 11);
    const resetsBefore = stack.faults.injected.reset;
    try {
      const out = dest();
      const down = await downloadArtifact(admin, loc('pipe/Src/big.tgz'), out);
      expect(down).toMatchObject({ format: 'tar.gz', files: 1, bytes: data.length });
      expect((await fs.readFile(join(out, 'big.bin'))).equals(data)).toBe(true);
      expect(stack.faults.injected.reset).toBeGreaterThan(resetsBefore);
    } finally {
      stack.faults.clear();
    }
  });

  it('downloads tar.gz and plain-file artifacts', async () => {
    await put('pipe/Src/a.tgz', rawTar([{ name: 'dir/x.sh', data: 'echo', mode: 0o750 }], true));
    const out = dest();
    expect(await downloadArtifact(admin, loc('pipe/Src/a.tgz'), out)).toEqual({
      format: 'tar.gz',
      files: 1,
      bytes: 4,
    });
    expect((await fs.stat(join(out, 'dir/x.sh'))).mode & 0o777).toBe(0o750);
    await put('pipe/Src/settings.json', Buffer.from('{}'));
    const out2 = dest();
    expect((await downloadArtifact(admin, loc('pipe/Src/settings.json'), out2)).format).toBe('file');
    expect(await fs.readFile(join(out2, 'settings.json'), 'utf8')).toBe('{}');
  });
});

describe('failures name the object or entry', () => {
  it('missing object -> NOT_FOUND', async () => {
    const e = await failure(downloadArtifact(admin, loc('pipe/nope.zip'), dest()));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain(`s3://${stack.artifactBucket}/pipe/nope.zip`);
  });

  it('wrong, out-of-scope and expired credentials -> ACCESS_DENIED', async () => {
    const key = 'pipe/Build/out-1.zip';
    const { endpoint, region } = stack.clientConfig('s3');
    const wrong = createArtifactClient({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: stack.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    const e1 = await failure(downloadArtifact(wrong, loc(key), dest()));
    expect(e1.code).toBe('ACCESS_DENIED');
    expect(e1.message).toContain(`s3://${stack.artifactBucket}/${key}`);

    const e2 = await failure(downloadArtifact(jobClient(['other/key.zip'], []), loc(key), dest()));
    expect(e2.code).toBe('ACCESS_DENIED');
    const e3 = await failure(uploadArtifact(jobClient([key], []), tree, loc(key)));
    expect(e3.code).toBe('ACCESS_DENIED');
    expect(e3.message).toMatch(/write/);

    const expired = jobClient([key], [key], Date.now() - 60 * 60_000);
    const e4 = await failure(downloadArtifact(expired, loc(key), dest()));
    expect(e4.code).toBe('ACCESS_DENIED');
    expect(e4.message).toMatch(/ExpiredToken/);
  });

  it('a zip-slip artifact from S3 -> UNSAFE_PATH, nothing written outside', async () => {
    await put('pipe/Src/slip.zip', rawZip([{ name: '../../pw-slip.txt', data: 'x' }]));
    const out = dest();
    const e = await failure(downloadArtifact(admin, loc('pipe/Src/slip.zip'), out));
    expect(e.code).toBe('UNSAFE_PATH');
    expect(e.message).toContain('../../pw-slip.txt');
    await expect(fs.access(join(out, '../../pw-slip.txt'))).rejects.toThrow();
  });

  it('corrupt zips, escaping links and bombs from S3 fail with their codes, extracted while streaming', async () => {
    const good = rawZip([{ name: 'a.txt', data: randomBytes(50_000), deflate: false }]);
    const damaged = Buffer.from(good);
    damaged.fill(0x21, 1000, 1100);
    await put('pipe/Src/damaged.zip', damaged);
    const e1 = await failure(downloadArtifact(admin, loc('pipe/Src/damaged.zip'), dest()));
    expect(e1.code).toBe('CORRUPT_ARCHIVE');
    expect(e1.message).toContain('a.txt');

    await put('pipe/Src/truncated.zip', good.subarray(0, good.length - 10));
    const e2 = await failure(downloadArtifact(admin, loc('pipe/Src/truncated.zip'), dest()));
    expect(e2.code).toBe('CORRUPT_ARCHIVE');

    await put('pipe/Src/link.zip', rawZip([{ name: 'etc', data: '../../etc', mode: 0o120777 }]));
    const e3 = await failure(downloadArtifact(admin, loc('pipe/Src/link.zip'), dest()));
    expect(e3.code).toBe('UNSAFE_SYMLINK');
    expect(e3.message).toContain('"etc" -> "../../etc"');

    await put(
      'pipe/Src/bomb.zip',
      rawZip([{ name: 'zeros', data: Buffer.alloc(32 * 1024 * 1024), deflate: true }]),
    );
    const e4 = await failure(downloadArtifact(admin, loc('pipe/Src/bomb.zip'), dest()));
    expect(e4.code).toBe('LIMIT_EXCEEDED');
    expect(e4.message).toContain('zeros');
  });

  it('refuses to upload a folder whose symlink escapes it', async () => {
    const bad = join(work, 'bad-out');
    await fs.mkdir(bad);
    await fs.symlink('/etc/passwd', join(bad, 'passwd'));
    const e = await failure(uploadArtifact(admin, bad, loc('pipe/Build/bad.zip')));
    expect(e.code).toBe('UNSAFE_SYMLINK');
    expect(e.message).toContain('"passwd" -> "/etc/passwd"');
  });

  it('aborts an upload mid-way: no object is left behind', async () => {
    const big = join(work, 'abort-src');
    await fs.mkdir(big);
    for (let i = 0; i < 6; i++) await fs.writeFile(join(big, `r${i}.bin`), randomBytes(4 * 1024 * 1024));
    const controller = new AbortController();
    stack.faults.set({ s3: { UploadPart: { latencyMs: 200 } } });
    try {
      const key = 'pipe/Build/aborted.zip';
      const pending = uploadArtifact(admin, big, loc(key), { signal: controller.signal, queueSize: 2 });
      setTimeout(() => controller.abort(), 100);
      const e = await failure(pending);
      expect(e.code).toBe('ABORTED');
      const head = await admin
        .send(new HeadObjectCommand({ Bucket: stack.artifactBucket, Key: key }))
        .catch((error: unknown) => error as Error);
      expect((head as Error).name).toBe('NotFound');
    } finally {
      stack.faults.clear();
    }
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const e = await failure(
      downloadArtifact(admin, loc('pipe/Build/out-1.zip'), dest(), { signal: controller.signal }),
    );
    expect(e.code).toBe('ABORTED');
  });
});
