import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArtifactBackend, Encryption, ExternalS3Options } from './artifacts.js';
import type { Credentials } from './credentials.js';

/**
 * The artifact backend for an external S3 endpoint (moto_server, MinIO), reached with the SDK. Its own module,
 * loaded only when the stack is pointed at one: the SDK is most of what the stack would otherwise load.
 */
export class ExternalArtifacts implements ArtifactBackend {
  readonly client: S3Client;

  constructor(options: ExternalS3Options, region: string, fallback: Credentials) {
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? region,
      credentials: options.credentials ?? fallback,
      forcePathStyle: options.forcePathStyle ?? true,
    });
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    }
  }

  async putFile(bucket: string, key: string, file: string, enc: Encryption): Promise<string> {
    const up = new Upload({
      client: this.client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentType: 'application/zip',
        ServerSideEncryption: 'aws:kms',
        ...(enc.kmsKeyId ? { SSEKMSKeyId: enc.kmsKeyId } : {}),
      },
    });
    const out = await up.done();
    return (out.ETag ?? '').replaceAll('"', '') || randomBytes(8).toString('hex');
  }

  async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    enc: Encryption,
  ): Promise<string> {
    const head = await this.client
      .send(new HeadObjectCommand({ Bucket: from.bucket, Key: from.key }))
      .catch(() => {
        throw new Error(`The object s3://${from.bucket}/${from.key} does not exist`);
      });
    await this.client.send(
      new CopyObjectCommand({
        Bucket: to.bucket,
        Key: to.key,
        CopySource: `${from.bucket}/${encodeURIComponent(from.key).replace(/%2F/g, '/')}`,
        ServerSideEncryption: 'aws:kms',
        ...(enc.kmsKeyId ? { SSEKMSKeyId: enc.kmsKeyId } : {}),
      }),
    );
    return (head.ETag ?? '').replaceAll('"', '');
  }
}
