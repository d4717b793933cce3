import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactError, abortError, describe } from './errors.js';
import type { S3Location } from './location.js';
import { mapS3Error } from './s3-errors.js';
import { zipFolder } from './zip-folder.js';

export interface UploadOptions {
  /** KMS key for SSE-KMS (the job's `encryptionKey.id`); without it S3 uses the account's aws/s3 key. */
  kmsKeyId?: string;
  signal?: AbortSignal;
  /** Multipart part size in bytes; S3's minimum is 5 MiB. Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once. Default 4. Memory stays near queueSize x partSize. */
  queueSize?: number;
  /** Deflate level 0-9. Default 6. */
  compressionLevel?: number;
}

export interface UploadResult {
  /** Bytes of the zip stored in S3. */
  bytes: number;
  /** Files and symlinks in it (folders not counted). */
  files: number;
}

const MIN_PART = 5 * 1024 * 1024;

/**
 * Zips `sourceDir` while uploading it to `location`: the zip is produced as parts are sent (multipart with
 * parallel parts for anything over one part), never written to disk or held whole in memory. Always sends
 * `ServerSideEncryption: aws:kms`, which CodePipeline's artifact bucket policy demands on every PutObject.
 */
export async function uploadArtifact(
  s3: S3Client,
  sourceDir: string,
  location: S3Location,
  opts: UploadOptions = {},
): Promise<UploadResult> {
  const { signal } = opts;
  const partSize = opts.partSize ?? 8 * 1024 * 1024;
  if (partSize < MIN_PART)
    throw new TypeError(`partSize must be at least 5 MiB (S3's minimum), got ${partSize}`);
  if (signal?.aborted) throw abortError(signal);
  const zip = await zipFolder(sourceDir, { compressionLevel: opts.compressionLevel ?? 6 });
  let bytes = 0;
  let zipError: unknown;
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  zip.stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  zip.stream.on('error', (error) => {
    zipError = error;
    body.destroy(error);
  });
  zip.stream.pipe(body);
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
    partSize,
    queueSize: opts.queueSize ?? 4,
    leavePartsOnError: false,
  });
  const onAbort = () => {
    void upload.abort();
    zip.stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
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
    signal?.removeEventListener('abort', onAbort);
    zip.stream.destroy();
  }
  return { bytes, files: zip.files };
}
