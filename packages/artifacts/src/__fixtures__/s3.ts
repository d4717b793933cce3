import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { ArtifactError } from '../errors.js';

/** Stores `body` as an artifact object, with the SSE-KMS the local stack's artifact bucket requires. */
export async function putArtifact(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
): Promise<void> {
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms' }),
  );
}

/** The ArtifactError a promise rejects with (the test fails when it resolves or throws anything else). */
export async function artifactFailure(promise: Promise<unknown>): Promise<ArtifactError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactError);
  return error as ArtifactError;
}
