import { posix } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ArtifactFormat, DETECT_BYTES, detectFormat } from './detect.js';
import { ArtifactError, abortError } from './errors.js';
import { extractTar } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import { Budget, type ExtractLimits, resolveLimits } from './limits.js';
import type { S3Location } from './location.js';
import { s3Body } from './s3-body.js';
import { normalizeEntryPath } from './safe-path.js';
import { TreeWriter } from './tree-writer.js';
import { type FetchRange, ZipBody } from './zip-spool.js';

export interface DownloadOptions {
  /** Overrides of the default extraction limits (4 GiB, 100,000 entries, ratio 200). */
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
  /**
   * Where a zip is spooled while it is extracted (a private folder inside it, removed afterwards): pass the
   * job's temp folder. Defaults to the OS temp folder.
   */
  tmpDir?: string;
}

export interface DownloadResult {
  format: ArtifactFormat;
  /** Files, hard links and symlinks written (folders not counted). */
  files: number;
  /** Uncompressed bytes written. */
  bytes: number;
}

/** What is known about a source once it has started, besides its bytes in order. */
interface RandomAccess {
  /** The total size (S3's Content-Length), so a zip can be read before its last byte arrives. */
  size?: number | undefined;
  /** Reads bytes far ahead of the stream (a ranged GET of the same version), for a zip's directory. */
  fetchRange?: FetchRange | undefined;
  /** Stops the stream at once, when the extraction has failed. */
  stop?: (() => void) | undefined;
}

/** Reads from an iterator until `size` bytes (or the end) and returns them plus an iterable of the rest. */
async function peek(
  source: AsyncIterator<Buffer>,
  size: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < size) {
    const next = await source.next();
    if (next.done) break;
    chunks.push(next.value);
    have += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest() {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, rest: rest() };
}

/**
 * Downloads an artifact and extracts it into `destDir` (created when missing). Zip, tar and tar.gz are
 * recognised by their content; anything else is saved as one file named after the key's last segment.
 */
export async function downloadArtifact(
  s3: S3Client,
  location: S3Location,
  destDir: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  if (opts.signal?.aborted) throw abortError(opts.signal);
  // Stops the download (and any ranged read) as soon as the extraction fails, or when the caller aborts.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const meta: { size?: number; etag?: string } = {};
  const source = s3Body(s3, location, { signal, meta });
  // A zip's directory, at its end, is read with ranged GETs of the same version while the body downloads.
  const fetchRange: FetchRange = async (start, end) => {
    const chunks: Buffer[] = [];
    const range = { start, end: end - 1 };
    for await (const chunk of s3Body(s3, location, { signal, range, etag: meta.etag })) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  try {
    return await extractStream(source, destDir, posix.basename(location.key), opts, () => ({
      size: meta.size,
      // Without an ETag a ranged read could come from another version of the object: wait for the body.
      fetchRange: meta.etag ? fetchRange : undefined,
      stop: () => stop.abort(),
    }));
  } finally {
    stop.abort();
    await source.return(undefined);
  }
}

/**
 * Detects the format of a byte stream and extracts it into `destDir`. The S3 download above is one
 * source; tests feed local files through the same path.
 */
export async function extractStream(
  source: AsyncIterable<Buffer>,
  destDir: string,
  fileName: string,
  opts: DownloadOptions = {},
  /** What else is known about the source once it has started: its size, and how to read ahead in it. */
  random?: () => RandomAccess,
): Promise<DownloadResult> {
  const budget = new Budget(resolveLimits(opts.limits));
  const { signal } = opts;
  const iterator = source[Symbol.asyncIterator]();
  const { head, rest } = await peek(iterator, DETECT_BYTES);
  const format = detectFormat(head);
  const writer = new TreeWriter(destDir);
  await writer.init();
  if (format === 'zip') {
    await extractZipBody(rest, writer, budget, opts, random?.() ?? {});
  } else if (format === 'tar' || format === 'tar.gz') {
    await extractTar(rest, writer, { budget, signal, gzip: format === 'tar.gz' });
  } else {
    const name = normalizeEntryPath(fileName) || 'artifact';
    budget.addEntry(name);
    await writer.file(name, 0o644, async (fh) => {
      for await (const chunk of rest) {
        if (signal?.aborted) throw abortError(signal);
        budget.addBytes(chunk.length, name);
        await fh.write(chunk);
      }
    });
  }
  return { format, files: writer.files, bytes: budget.bytes };
}

/**
 * A zip's central directory sits at its end and is the only place holding permissions and symlink flags.
 * The body is never held whole in memory: yauzl reads the zip at random, the way `unzip` works, while it
 * is still arriving (see ZipBody and extractZip), the directory ahead of the body through `fetchRange`
 * (ranged GETs). Without a known size (a stream of unknown length), the whole zip is spooled first. A
 * spool's temp folder is removed whatever happens.
 */
async function extractZipBody(
  rest: AsyncIterable<Buffer>,
  writer: TreeWriter,
  budget: Budget,
  opts: DownloadOptions,
  random: RandomAccess,
): Promise<void> {
  // A zip weighs at most its content plus headers, so one far past maxBytes can stop before the disk fills.
  const maxZip = budget.limits.maxBytes + budget.limits.maxEntries * 1024 + 1024 * 1024;
  const body = new ZipBody(rest, {
    size: random.size,
    fetchRange: random.fetchRange,
    stop: random.stop,
    tmpDir: opts.tmpDir,
    maxLength: maxZip,
    tooLarge: () => budget.sizeError('(the zip itself)'),
  });
  try {
    await extractZip(body, writer, { budget, signal: opts.signal });
    // Every entry is out; the rest of the body is the directory, read already. The download still
    // finishes, so that a transfer failure or a body of another length is not silently ignored.
    body.release(Number.POSITIVE_INFINITY);
    await body.finished();
    if (body.size !== undefined && body.length !== body.size) {
      throw new ArtifactError(
        'TRANSFER_FAILED',
        `The artifact was ${body.length} bytes where ${body.size} were announced; retry the job.`,
      );
    }
  } finally {
    await body.close();
  }
}
