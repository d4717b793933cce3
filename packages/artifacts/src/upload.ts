import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactError, abortError, describe } from './errors.js';
import type { S3Location } from './location.js';
import { releasePartBuffers } from './release-parts.js';
import { mapS3Error } from './s3-errors.js';
import { UploadBody } from './upload-body.js';
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
  const effectivePartSize = Math.max(partSize, Math.ceil(zip.estimatedBytes / MAX_PARTS));
  const body = new UploadBody(effectivePartSize);
  zip.stream.on('error', (error) => {
    zipError = error;
    body.destroy(error);
  });
  zip.stream.pipe(body);
  const parts = releasePartBuffers(
    s3,
    location,
    effectivePartSize,
    (offset) => body.consumedUpTo(offset),
    (buffer) => body.reusePart(buffer),
  );
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
    body.releaseParts();
    signal?.removeEventListener('abort', onAbort);
    zip.stream.destroy();
  }
  return { bytes: body.bytes, files: zip.files };
}
