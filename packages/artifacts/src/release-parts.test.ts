import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactClient } from './client.js';
import { releasePartBuffers } from './release-parts.js';
import { CONCAT_PART } from './upload-body.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

let stack: LocalStack;
let s3: S3Client;

beforeAll(async () => {
  stack = await startLocalStack();
  s3 = createArtifactClient(stack.clientConfig('s3'));
});
afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

/** Uploads `data` as a stream of 1 MiB chunks, as the zip upload does, with parts released. */
async function upload(key: string, data: Buffer, reuse?: (buffer: ArrayBufferLike) => boolean) {
  const location = { bucket: stack.artifactBucket, key };
  const cuts: number[] = [];
  const parts = releasePartBuffers(s3, location, PART, (offset) => cuts.push(offset), reuse);
  try {
    const chunks = Array.from({ length: Math.ceil(data.length / MiB) }, (_, i) =>
      Buffer.from(data.subarray(i * MiB, (i + 1) * MiB)),
    );
    await new Upload({
      client: s3,
      params: {
        Bucket: location.bucket,
        Key: key,
        Body: Readable.from(chunks),
        ServerSideEncryption: 'aws:kms',
      },
      partSize: PART,
      queueSize: 2,
    }).done();
  } finally {
    parts.stop();
  }
  await new Promise((resolve) => setImmediate(resolve));
  const got = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
  return { stored: Buffer.from(await got.Body!.transformToByteArray()), released: parts.released(), cuts };
}

describe('releasePartBuffers', () => {
  it('gives back the parts S3 has, and the object is intact', async () => {
    const data = randomBytes(23 * MiB);
    const { stored, released, cuts } = await upload('release/intact.bin', data);
    expect(stored.equals(data)).toBe(true);
    // Five parts: the last two buffers may still have been lib-storage's when the upload ended.
    expect(released).toBeGreaterThanOrEqual(3);
    expect(cuts).toEqual(expect.arrayContaining([PART, 2 * PART, 3 * PART, 4 * PART]));
  });

  it('offers each buffer for reuse as soon as S3 has its parts, and leaves the one taken intact', async () => {
    const data = randomBytes(23 * MiB);
    const offered: ArrayBufferLike[] = [];
    const { stored, released } = await upload('release/reuse.bin', data, (buffer) => {
      offered.push(buffer);
      return offered.length % 2 === 1;
    });
    expect(stored.equals(data)).toBe(true);
    // Four parts cut from buffers larger than a part (the fifth is smaller): each offered once S3 had it,
    // the fourth too, which lib-storage held to the end.
    expect(offered).toHaveLength(4);
    // Taken ones are the taker's to reuse; a refused one is freed once lib-storage lets go of it, which for
    // the last one is at the garbage collector's next look.
    expect(offered.map((buffer) => buffer.byteLength > 0).slice(0, 3)).toEqual([true, false, true]);
    expect(released).toBeGreaterThanOrEqual(3);
  });

  it('keeps a part retried after a server error intact', async () => {
    stack.faults.set({ s3: { UploadPart: { errorRate: 0.4 } } }, 5);
    try {
      const data = randomBytes(21 * MiB);
      const { stored } = await upload('release/retried.bin', data);
      expect(stored.equals(data)).toBe(true);
      expect(stack.faults.injected.serverError).toBeGreaterThan(0);
    } finally {
      stack.faults.clear();
    }
  });

  it('lets other uploads and commands through untouched', async () => {
    const location = { bucket: stack.artifactBucket, key: 'release/other.bin' };
    const parts = releasePartBuffers(s3, location, PART);
    try {
      const data = randomBytes(11 * MiB);
      const chunks = [data.subarray(0, 6 * MiB), data.subarray(6 * MiB)].map((c) => Buffer.from(c));
      await new Upload({
        client: s3,
        params: {
          Bucket: location.bucket,
          Key: 'release/another-key.bin',
          Body: Readable.from(chunks),
          ServerSideEncryption: 'aws:kms',
        },
        partSize: PART,
      }).done();
      expect(parts.released()).toBe(0);
    } finally {
      parts.stop();
    }
  });
});

// The lib-storage patch (patches/@aws-sdk__lib-storage@3.1169.0.patch) as lib-storage's users see it: a stream
// body that provides the buffers parts are cut from gets asked for them, and S3 stores the body's bytes.
describe('patched lib-storage', () => {
  it('asks a stream body for the buffer of each part it cuts, and S3 gets the body intact', async () => {
    const data = randomBytes(12 * MiB + 12345);
    const asked: number[] = [];
    const chunks = Array.from({ length: Math.ceil(data.length / (256 * 1024)) }, (_, i) =>
      data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
    );
    const body = Object.assign(Readable.from(chunks, { objectMode: true }), {
      [CONCAT_PART](parts: Uint8Array[], length: number) {
        asked.push(length);
        return Buffer.concat(parts, length);
      },
    });
    const key = 'patch/parts.bin';
    await new Upload({
      client: s3,
      params: { Bucket: stack.artifactBucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms' },
      partSize: PART,
      queueSize: 2,
    }).done();
    // Two full parts cut from a part and a chunk, and the last part from what was left.
    expect(asked).toHaveLength(3);
    expect(asked.slice(0, 2).every((length) => length > PART && length <= PART + 256 * 1024)).toBe(true);
    const got = await s3.send(new GetObjectCommand({ Bucket: stack.artifactBucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });
});
