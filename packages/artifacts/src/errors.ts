/** Why an artifact could not be fetched, extracted or stored; the worker maps these to job failures. */
export type ArtifactErrorCode =
  /** The object is not a readable zip/tar/gzip, or it ends early or disagrees with its own directory. */
  | 'CORRUPT_ARCHIVE'
  /** An entry's path is absolute, contains `..`, or would land outside the destination folder. */
  | 'UNSAFE_PATH'
  /** A symlink points outside the artifact, or an entry would be written through a symlink. */
  | 'UNSAFE_SYMLINK'
  /** Total size, entry count or compression ratio is beyond the configured limits. */
  | 'LIMIT_EXCEEDED'
  /** The bucket or key does not exist. */
  | 'NOT_FOUND'
  /** The credentials are wrong, expired, or not allowed to touch this object. */
  | 'ACCESS_DENIED'
  /** The transfer kept failing after retries and resumes. */
  | 'TRANSFER_FAILED'
  /** An entry kind that cannot be extracted safely (device, fifo, ...). */
  | 'UNSUPPORTED_ENTRY'
  /** A local file could not be read or written (disk full, permissions of the destination). */
  | 'LOCAL_IO'
  /** The caller's AbortSignal fired. */
  | 'ABORTED';

export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  readonly code: ArtifactErrorCode;
  /** The archive entry the error is about, when there is one. */
  readonly entry: string | undefined;

  constructor(code: ArtifactErrorCode, message: string, options?: { cause?: unknown; entry?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.entry = options?.entry;
  }
}

export function isArtifactError(error: unknown): error is ArtifactError {
  return error instanceof ArtifactError;
}

/** Describes an unknown thrown value in one line, for messages that wrap it. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}

export function abortError(signal: AbortSignal | undefined): ArtifactError {
  return new ArtifactError('ABORTED', 'The artifact transfer was aborted by the caller.', {
    cause: signal?.reason,
  });
}
