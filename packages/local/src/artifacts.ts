import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Credentials } from './credentials.js';
import type { ObjectStore } from './s3/store.js';

/** Server-side encryption the way CodePipeline writes artifacts: SSE-KMS, with the store's key if it has one. */
export interface Encryption {
  kmsKeyId?: string;
}

/**
 * Where the CodePipeline side reads and writes artifacts itself (source actions). Two implementations: the
 * in-process store, and any external S3 endpoint (moto_server, MinIO) reached with the SDK
 * (external-artifacts.ts).
 */
export interface ArtifactBackend {
  ensureBucket(bucket: string): Promise<void>;
  /** Uploads a local file; resolves with the revision to report (the object's ETag). */
  putFile(bucket: string, key: string, file: string, enc: Encryption): Promise<string>;
  /** Copies an existing object; rejects with a message fit for the action's error details if it is missing. */
  copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    enc: Encryption,
  ): Promise<string>;
}

export class LocalArtifacts implements ArtifactBackend {
  constructor(
    private readonly store: ObjectStore,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  async ensureBucket(bucket: string): Promise<void> {
    this.store.createBucket(bucket);
  }

  #kms(enc: Encryption) {
    return {
      sse: 'aws:kms',
      kmsKeyId: enc.kmsKeyId ?? `arn:aws:kms:${this.region}:${this.accountId}:alias/aws/s3`,
    };
  }

  async putFile(bucket: string, key: string, file: string, enc: Encryption): Promise<string> {
    if (!this.store.hasBucket(bucket)) throw new Error(`The artifact bucket ${bucket} does not exist`);
    const target = this.store.newFile();
    await copyFile(file, target);
    const size = (await stat(target)).size;
    const etag = `"${randomBytes(16).toString('hex')}"`;
    this.store.put(bucket, {
      key,
      size,
      etag,
      lastModified: Date.now(),
      contentType: 'application/zip',
      ...this.#kms(enc),
      metadata: {},
      segments: [{ file: target, size }],
    });
    return etag.slice(1, -1);
  }

  async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    enc: Encryption,
  ): Promise<string> {
    const src = this.store.get(from.bucket, from.key);
    if (!src) throw new Error(`The object s3://${from.bucket}/${from.key} does not exist`);
    if (!this.store.hasBucket(to.bucket)) throw new Error(`The artifact bucket ${to.bucket} does not exist`);
    const target = this.store.newFile();
    await pipeline(this.store.read(src), createWriteStream(target));
    const etag = `"${randomBytes(16).toString('hex')}"`;
    this.store.put(to.bucket, {
      ...src,
      key: to.key,
      etag,
      lastModified: Date.now(),
      ...this.#kms(enc),
      segments: [{ file: target, size: src.size }],
    });
    return src.etag.replaceAll('"', '');
  }
}

export interface ExternalS3Options {
  endpoint: string;
  region?: string;
  credentials?: Credentials;
  forcePathStyle?: boolean;
}
