// The lib-storage patch (patches/@aws-sdk__lib-storage@3.1169.0.patch) as lib-storage's users see it: a stream
// body that provides the buffers parts are cut from gets asked for them, and the object S3 stores is the
// body's bytes. Against the local stack, with the real client.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactClient } from './index.js';
import { CONCAT_PART } from './upload-body.js';

const MiB = 1024 * 1024;
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

/** A stream of `data` in 256 KiB chunks, which records the parts lib-storage asks it to assemble. */
function bodyWithParts(data: Buffer) {
  const asked: number[] = [];
  const chunks = Array.from({ length: Math.ceil(data.length / (256 * 1024)) }, (_, i) =>
    data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
  );
  const body = Object.assign(Readable.from(chunks, { objectMode: true }), {
    [CONCAT_PART](parts: Uint8Array[], length: number) {
      asked.push(length);
      const buffer = Buffer.alloc(length + 1).subarray(0, length);
      let at = 0;
      for (const part of parts) {
        buffer.set(part, at);
        at += part.length;
      }
      return buffer;
    },
  });
  return { body, asked };
}

describe('patched lib-storage', () => {
  it('asks a stream body for the buffer of each part it cuts, and S3 gets the body intact', async () => {
    const data = randomBytes(12 * MiB + 12345);
    const { body, asked } = bodyWithParts(data);
    const key = 'patch/parts.bin';
    await new Upload({
      client: s3,
      params: { Bucket: stack.artifactBucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms' },
      partSize: 5 * MiB,
      queueSize: 2,
    }).done();
    // Two full parts cut from a part and a chunk, and the last part from what was left.
    expect(asked).toHaveLength(3);
    expect(asked.slice(0, 2).every((length) => length > 5 * MiB && length <= 5 * MiB + 256 * 1024)).toBe(
      true,
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: stack.artifactBucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });
});
