import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Location } from './location.js';

export interface PutStreamOptions {
  partSize: number;
  queueSize: number;
  /** Sent on PutObject / CreateMultipartUpload: encryption, content type. */
  headers: {
    ServerSideEncryption: 'aws:kms';
    SSEKMSKeyId?: string;
    ContentType: string;
  };
  signal?: AbortSignal | undefined;
}

/**
 * Streams bytes of unknown length into one S3 object: a single PutObject when everything fits in one
 * part, else a multipart upload with up to `queueSize` parts in flight. Parts are filled into a fixed pool
 * of `queueSize + 1` buffers that are reused, so memory is exactly that pool whatever the object size.
 * (lib-storage's Upload concatenates each part into a fresh buffer; on a 256 MiB artifact the garbage
 * alone pushed the process past 128 MiB.) Checksums follow the client's setting, as lib-storage does.
 */
export async function putStream(
  s3: S3Client,
  location: S3Location,
  source: AsyncIterable<Buffer>,
  opts: PutStreamOptions,
): Promise<number> {
  const { partSize, queueSize, signal } = opts;
  const base = { Bucket: location.bucket, Key: location.key };
  const sendOptions = signal ? { abortSignal: signal } : {};

  const free: Buffer[] = [];
  let allocated = 0;
  const waiters: (() => void)[] = [];
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let failure: unknown;
  let total = 0;

  const takeBuffer = async (): Promise<Buffer> => {
    for (;;) {
      if (failure !== undefined) throw failure;
      const buffer = free.pop();
      if (buffer) return buffer;
      if (allocated < queueSize + 1) {
        allocated++;
        return Buffer.allocUnsafe(partSize);
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };

  const startPart = async (buffer: Buffer, length: number, partNumber: number) => {
    if (uploadId === undefined) {
      const checksums = await s3.config.requestChecksumCalculation();
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          ...base,
          ...opts.headers,
          ...(checksums === 'WHEN_SUPPORTED' ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}),
        }),
        sendOptions,
      );
      if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      uploadId = created.UploadId;
    }
    const id = uploadId;
    const task: Promise<void> = s3
      .send(
        new UploadPartCommand({
          ...base,
          UploadId: id,
          PartNumber: partNumber,
          Body: buffer.subarray(0, length),
        }),
        sendOptions,
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`UploadPart ${partNumber} returned no ETag`);
        parts.push({
          PartNumber: partNumber,
          ETag: result.ETag,
          ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}),
        });
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        inFlight.delete(task);
        free.push(buffer);
        for (const wake of waiters.splice(0)) wake();
      });
    inFlight.add(task);
  };

  let current = await takeBuffer();
  let filled = 0;
  let partNumber = 0;
  try {
    for await (const chunk of source) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(current, filled, at);
        filled += n;
        at += n;
        if (filled === partSize) {
          await startPart(current, filled, ++partNumber);
          current = await takeBuffer();
          filled = 0;
        }
      }
      total += chunk.length;
    }
    if (uploadId === undefined && partNumber === 0) {
      await s3.send(
        new PutObjectCommand({ ...base, ...opts.headers, Body: current.subarray(0, filled) }),
        sendOptions,
      );
      return total;
    }
    if (filled > 0) await startPart(current, filled, ++partNumber);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await s3.send(
      new CompleteMultipartUploadCommand({ ...base, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      sendOptions,
    );
    return total;
  } catch (error) {
    failure ??= error;
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) {
      // Best effort: a dangling upload costs storage until a lifecycle rule removes it.
      await s3.send(new AbortMultipartUploadCommand({ ...base, UploadId: uploadId })).catch(() => {});
    }
    throw failure;
  }
}
