import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { ArtifactError, abortError, describe } from './errors.js';
import type { S3Location } from './location.js';
import { mapS3Error } from './s3-errors.js';
import { youngGc } from './young-gc.js';

/** Consecutive failed resumes (without a single new byte in between) before the download gives up. */
const MAX_STALLED_RESUMES = 5;

export interface BodyOptions {
  signal?: AbortSignal | undefined;
  /** Only these bytes (inclusive offsets): a zip's directory, read while the main download runs. */
  range?: { start: number; end: number } | undefined;
  /** Require this version of the object (the ETag of the main download). */
  etag?: string | undefined;
  /** Filled in from the first response: the object's size and ETag. */
  meta?: { size?: number; etag?: string } | undefined;
}

/**
 * Streams an S3 object's bytes (or one range of them). The SDK retries a request that fails before its
 * response, but not a body that breaks halfway (connection reset, premature close), which on a big
 * artifact is the likely failure; so a broken body is resumed with `Range: bytes=<received>-` and
 * `If-Match: <etag>`, which guarantees the bytes come from the same object version. Bytes are never held
 * beyond the chunk being handed out.
 */
export async function* s3Body(
  s3: S3Client,
  location: S3Location,
  opts: BodyOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const { signal, range, meta } = opts;
  const first = range?.start ?? 0;
  let received = 0;
  let etag = opts.etag;
  let total: number | undefined;
  let stalled = 0;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    let response: GetObjectCommandOutput;
    try {
      response = await s3.send(
        new GetObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          ...(range || received > 0 ? { Range: `bytes=${first + received}-${range ? range.end : ''}` } : {}),
          ...(etag ? { IfMatch: etag } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (etag && (status === 412 || (error as Error).name === 'PreconditionFailed')) {
        throw new ArtifactError(
          'TRANSFER_FAILED',
          `Artifact s3://${location.bucket}/${location.key} changed while it was being downloaded; retry the job.`,
          { cause: error },
        );
      }
      throw mapS3Error(error, location, 'read');
    }
    if (received === 0) {
      etag ??= response.ETag;
      total = response.ContentLength;
      if (meta) {
        const size = /\/(\d+)$/.exec(response.ContentRange ?? '')?.[1];
        const known = size !== undefined ? Number(size) : range ? undefined : response.ContentLength;
        if (known !== undefined) meta.size = known;
        if (etag) meta.etag = etag;
      }
    }
    // A server that ignores Range answers 200 with the whole object: skip what we already have.
    let skip = (range || received > 0) && response.ContentRange === undefined ? first + received : 0;
    let limit =
      range && response.ContentRange === undefined ? range.end - range.start + 1 - received : Infinity;
    const body = response.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
    const before = received;
    try {
      if (!body) throw new Error('response has no body');
      for await (const raw of body) {
        let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        if (skip > 0) {
          const n = Math.min(skip, chunk.length);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.length === 0) continue;
        }
        if (chunk.length > limit) chunk = chunk.subarray(0, limit);
        limit -= chunk.length;
        if (chunk.length === 0) break;
        received += chunk.length;
        youngGc.add(chunk.length);
        yield chunk;
      }
      const expected = range ? range.end - range.start + 1 : total;
      if (expected !== undefined && received < expected) {
        throw new Error(`body ended after ${received} of ${expected} bytes`);
      }
      return;
    } catch (error) {
      body?.destroy?.();
      if (signal?.aborted) throw abortError(signal);
      if (error instanceof ArtifactError) throw error;
      stalled = received > before ? 1 : stalled + 1;
      if (stalled > MAX_STALLED_RESUMES) {
        throw new ArtifactError(
          'TRANSFER_FAILED',
          `Downloading s3://${location.bucket}/${location.key} kept failing at byte ${received}: ${describe(error)}`,
          { cause: error },
        );
      }
      await sleep(Math.min(2000, 50 * 2 ** stalled * (0.5 + Math.random())), undefined, { signal }).catch(
        () => {
          throw abortError(signal);
        },
      );
    }
  }
}
