import { Transform, type TransformCallback } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { copied } from './detach.js';
import { ArtifactError, abortError, describe } from './errors.js';
import type { S3Location } from './location.js';
import { releasePartBuffers } from './release-parts.js';
import { mapS3Error } from './s3-errors.js';
import { zipFolder } from './zip-folder.js';

export interface UploadOptions {
  /** KMS key for SSE-KMS (the job's `encryptionKey.id`); without it S3 uses the account's aws/s3 key. */
  kmsKeyId?: string;
  signal?: AbortSignal;
  /** Multipart part size in bytes; S3's minimum is 5 MiB. Default 5 MiB, raised for huge folders. */
  partSize?: number;
  /** Parts uploaded at once. Default 4. Upload buffers stay near (queueSize + 1) x partSize. */
  queueSize?: number;
  /** Deflate level 0-9. Default 6. */
  compressionLevel?: number;
  /**
   * Worker threads deflating small files, 1-4. Default 1: one thread keeps pace with `zip -r` (itself one
   * thread) and each further one costs about 14 MiB of memory; raise it on a machine with cores to spare to
   * zip many small files faster.
   */
  threads?: number;
}

export interface UploadResult {
  /** Bytes of the zip stored in S3. */
  bytes: number;
  /** Files and symlinks in it (folders not counted). */
  files: number;
}

const MIN_PART = 5 * 1024 * 1024;
/**
 * The zip's many small writes (headers, small files) are passed on in chunks of this size. lib-storage
 * copies the chunks that make up a part into one buffer, which ends up to one chunk past the part (the rest
 * starts the next part), and holds it until S3 has the part: smaller chunks, smaller part buffers.
 */
const BODY_CHUNK = 256 * 1024;
/** S3 allows 10,000 parts; keep a margin so a zip slightly larger than its files still fits. */
const MAX_PARTS = 9_000;

/**
 * Zips `sourceDir` while uploading it to `location`: yazl's output is piped into `@aws-sdk/lib-storage`'s
 * Upload, so the zip is produced as parts are sent (multipart with parallel parts for anything over one
 * part, a single PutObject below that), never written to disk or held whole in memory. Always sends
 * `ServerSideEncryption: aws:kms`, which CodePipeline's artifact bucket policy demands on every PutObject.
 */
export async function uploadArtifact(
  s3: S3Client,
  sourceDir: string,
  location: S3Location,
  opts: UploadOptions = {},
): Promise<UploadResult> {
  const { signal } = opts;
  const partSize = opts.partSize ?? MIN_PART;
  if (partSize < MIN_PART)
    throw new TypeError(`partSize must be at least 5 MiB (S3's minimum), got ${partSize}`);
  if (signal?.aborted) throw abortError(signal);
  const zip = await zipFolder(sourceDir, {
    compressionLevel: opts.compressionLevel ?? 6,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  });
  let zipError: unknown;
  const body = new Coalesce();
  zip.stream.on('error', (error) => {
    zipError = error;
    body.destroy(error);
  });
  zip.stream.pipe(body);
  const effectivePartSize = Math.max(partSize, Math.ceil(zip.estimatedBytes / MAX_PARTS));
  const parts = releasePartBuffers(s3, location, effectivePartSize, (offset) => body.consumedUpTo(offset));
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: location.bucket,
      Key: location.key,
      Body: body,
      ContentType: 'application/zip',
      ServerSideEncryption: 'aws:kms',
      ...(opts.kmsKeyId ? { SSEKMSKeyId: opts.kmsKeyId } : {}),
    },
    partSize: effectivePartSize,
    queueSize: opts.queueSize ?? 4,
    leavePartsOnError: false,
  });
  // abort() stops the parts in flight and, with leavePartsOnError: false, aborts the multipart upload.
  const onAbort = () => {
    void upload.abort().catch(() => {});
    zip.stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    await upload.done();
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (zipError instanceof ArtifactError) throw zipError;
    if (zipError !== undefined) {
      throw new ArtifactError('LOCAL_IO', `Zipping the output folder failed: ${describe(zipError)}`, {
        cause: zipError,
      });
    }
    throw mapS3Error(error, location, 'write');
  } finally {
    parts.stop();
    signal?.removeEventListener('abort', onAbort);
    zip.stream.destroy();
  }
  return { bytes: body.bytes, files: zip.files };
}

/**
 * Copies the zip's writes into 256 KiB chunks and counts them. yazl writes two or three small buffers per
 * entry, and each chunk costs lib-storage several promise hops; one copy into larger chunks costs less.
 * Once copied, a write's buffer is done with (deflated files are detached then, see detach.ts), and once
 * lib-storage has cut a part past a chunk (`consumedUpTo`), the chunk is reused for the writes that follow:
 * the body allocates a handful of chunks instead of one per MiB.
 */
class Coalesce extends Transform {
  bytes = 0;
  #current: Buffer | undefined;
  #used = 0;
  /** Chunks pushed and perhaps not yet copied into a part, with the body offset each starts at. */
  readonly #pushed: { start: number; chunk: Buffer }[] = [];
  readonly #free: Buffer[] = [];

  constructor() {
    super({ highWaterMark: BODY_CHUNK });
  }

  override _transform(write: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (let at = 0; at < write.length; ) {
      this.#current ??= this.#free.pop() ?? Buffer.allocUnsafeSlow(BODY_CHUNK);
      const n = write.copy(this.#current, this.#used, at);
      at += n;
      this.#used += n;
      if (this.#used === BODY_CHUNK) this.#pushCurrent();
    }
    copied(write);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#used > 0) this.#pushCurrent();
    callback();
  }

  /** lib-storage has copied every chunk starting before `offset` into its parts and holds none of them. */
  consumedUpTo(offset: number): void {
    while (this.#pushed.length > 0 && this.#pushed[0]!.start < offset) {
      this.#free.push(this.#pushed.shift()!.chunk);
    }
  }

  #pushCurrent(): void {
    const chunk = this.#current!;
    this.#pushed.push({ start: this.bytes, chunk });
    this.bytes += this.#used;
    const view = this.#used === chunk.length ? chunk : chunk.subarray(0, this.#used);
    this.#current = undefined;
    this.#used = 0;
    this.push(view);
  }
}
