import { closeSync, promises as fs, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ArtifactFormat, DETECT_BYTES, detectFormat } from './detect.js';
import { ArtifactError, abortError, describe } from './errors.js';
import { extractTar } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import { Budget, type ExtractLimits, resolveLimits } from './limits.js';
import type { S3Location } from './location.js';
import { s3Body } from './s3-body.js';
import { normalizeEntryPath } from './safe-path.js';
import { TreeWriter } from './tree-writer.js';

export interface DownloadOptions {
  /** Overrides of the default extraction limits (4 GiB, 100,000 entries, ratio 200). */
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
  /**
   * Where a zip is spooled before extraction (a private folder inside it, removed afterwards): pass the
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
  const source = s3Body(s3, location, opts.signal);
  try {
    return await extractStream(source, destDir, posix.basename(location.key), opts);
  } finally {
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
): Promise<DownloadResult> {
  const budget = new Budget(resolveLimits(opts.limits));
  const { signal } = opts;
  const iterator = source[Symbol.asyncIterator]();
  const { head, rest } = await peek(iterator, DETECT_BYTES);
  const format = detectFormat(head);
  const writer = new TreeWriter(destDir);
  await writer.init();
  if (format === 'zip') {
    await spoolAndExtractZip(rest, writer, budget, opts);
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
 * A zip's central directory sits at its end and is the only place holding permissions and symlink flags,
 * so the download is streamed (never held in memory) into a private temp file and read back at random by
 * yauzl, the way `unzip` works. The temp folder is removed whatever happens.
 */
async function spoolAndExtractZip(
  rest: AsyncIterable<Buffer>,
  writer: TreeWriter,
  budget: Budget,
  opts: DownloadOptions,
): Promise<void> {
  let dir: string;
  try {
    dir = await fs.mkdtemp(join(opts.tmpDir ?? tmpdir(), 'pipewright-artifact-'));
  } catch (error) {
    throw new ArtifactError('LOCAL_IO', `Cannot create a temp folder for the zip: ${describe(error)}`, {
      cause: error,
    });
  }
  try {
    const path = join(dir, 'artifact.zip');
    const fd = openSync(path, 'wx', 0o600);
    try {
      let size = 0;
      // A zip weighs at most its content plus headers, so one far past maxBytes can stop before the disk fills.
      const maxZip = budget.limits.maxBytes + budget.limits.maxEntries * 1024 + 1024 * 1024;
      for await (const chunk of rest) {
        size += chunk.length;
        if (size > maxZip) throw budget.sizeError('(the zip itself)');
        // Synchronous: a page-cache write of one network chunk is cheaper than a trip through libuv's pool.
        let at = 0;
        while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at);
      }
    } finally {
      closeSync(fd);
    }
    await extractZip(path, writer, { budget, signal: opts.signal });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
