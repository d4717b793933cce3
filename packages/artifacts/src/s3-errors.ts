import { ArtifactError, describe } from './errors.js';
import type { S3Location } from './location.js';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
]);

const url = (location: S3Location) => `s3://${location.bucket}/${location.key}`;

/** Maps an S3 client error to an ArtifactError that names the object and says what to do. */
export function mapS3Error(error: unknown, location: S3Location, action: 'read' | 'write'): ArtifactError {
  if (error instanceof ArtifactError) return error;
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.Code ?? e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (NOT_FOUND.has(name) || (status === 404 && action === 'read')) {
    return new ArtifactError(
      'NOT_FOUND',
      `Artifact ${url(location)} does not exist (${name || status}); check that the previous stage produced ` +
        'it and that the job points at the right bucket and key.',
      { cause: error },
    );
  }
  if (DENIED.has(name) || status === 403) {
    return new ArtifactError(
      'ACCESS_DENIED',
      `Access to ${url(location)} was denied (${name || status}) when trying to ${action} it; the artifact ` +
        'credentials are wrong, expired or scoped to other objects. Refresh them (GetJobDetails) and retry.',
      { cause: error },
    );
  }
  return new ArtifactError('TRANSFER_FAILED', `Could not ${action} ${url(location)}: ${describe(error)}`, {
    cause: error,
  });
}
