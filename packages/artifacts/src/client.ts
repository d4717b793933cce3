import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** Static keys ({ accessKeyId, secretAccessKey, sessionToken? }) or an async provider of them. */
export type ArtifactCredentials = NonNullable<S3ClientConfig['credentials']>;

export interface ArtifactClientOptions {
  region: string;
  /** Only for S3-compatible endpoints (the local stack); AWS needs none. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** The job's artifact credentials, or a provider that refreshes them (GetJobDetails) before expiry. */
  credentials: ArtifactCredentials;
  /** Attempts per request, including the first. Default 5: artifact transfers outlive short blips. */
  maxAttempts?: number;
}

/**
 * An S3 client for artifact transfers. The same options talk to AWS and to the local stack; nothing here
 * exists only for the emulator. SigV4 is the SDK's default, which SSE-KMS objects require.
 */
export function createArtifactClient(opts: ArtifactClientOptions): S3Client {
  return new S3Client({
    region: opts.region,
    credentials: opts.credentials,
    maxAttempts: opts.maxAttempts ?? 5,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.forcePathStyle !== undefined ? { forcePathStyle: opts.forcePathStyle } : {}),
  });
}
