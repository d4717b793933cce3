import { close, closeSync, fstatSync, openSync, read } from 'node:fs';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { ArtifactError, abortError, describe } from './errors.js';
import { type Budget, RATIO_GRACE_BYTES } from './limits.js';
import { assertSafeLink, normalizeEntryPath, symlinkAncestor, throughSymlinkError } from './safe-path.js';
import type { TreeWriter } from './tree-writer.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET = 4096;
/** Files written at once: enough to keep the libuv pool busy on many small files, few enough to bound memory. */
const CONCURRENCY = 8;
/** Entries up to this size are gathered in memory and written with synchronous calls (see TreeWriter). */
const SMALL_ENTRY = 1024 * 1024;

interface Planned {
  entry: yauzl.Entry;
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number | undefined;
}

function corrupt(message: string, cause?: unknown, entry?: string): ArtifactError {
  return new ArtifactError(
    'CORRUPT_ARCHIVE',
    `${message}${cause === undefined ? '' : `: ${describe(cause)}`}. The artifact is not a valid zip; ` +
      'rebuild and upload it again.',
    { cause, ...(entry === undefined ? {} : { entry }) },
  );
}

/** Bytes read at once for yauzl's small reads (directory records, local headers). */
const READ_BLOCK = 256 * 1024;

/**
 * yauzl's documented extension point for its input (`fromRandomAccessReader`) over the spooled file. Its
 * own fd reader opens a read stream for every 46-byte directory record, which on 20,000 entries costs
 * seconds; here those small reads are served from one cached block, and entry data streams straight from
 * the file. yauzl still does all the parsing.
 */
class SpoolReader extends yauzl.RandomAccessReader {
  #block = Buffer.alloc(0);
  #blockAt = -1;

  constructor(readonly fd: number) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // Positional reads on the shared fd (an fs.ReadStream would close it when yauzl destroys the stream).
    const fd = this.fd;
    let position = start;
    return new Readable({
      highWaterMark: READ_BLOCK,
      read(size) {
        const length = Math.min(size, end - position);
        if (length <= 0) {
          this.push(null);
          return;
        }
        const chunk = Buffer.allocUnsafe(length);
        read(fd, chunk, 0, length, position, (error, bytesRead) => {
          if (error) return this.destroy(error);
          if (bytesRead === 0) return this.push(null);
          position += bytesRead;
          this.push(chunk.subarray(0, bytesRead));
        });
      },
    });
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null, bytesRead?: number) => void,
  ): void {
    const copy = () => {
      const at = position - this.#blockAt;
      const n = this.#block.copy(buffer, offset, at, at + length);
      callback(null, n);
    };
    if (
      this.#blockAt >= 0 &&
      position >= this.#blockAt &&
      position + length <= this.#blockAt + this.#block.length
    ) {
      process.nextTick(copy);
      return;
    }
    const block = Buffer.allocUnsafe(Math.max(length, READ_BLOCK));
    read(this.fd, block, 0, block.length, position, (error, bytesRead) => {
      if (error) return callback(error);
      this.#block = block.subarray(0, bytesRead);
      this.#blockAt = position;
      copy();
    });
  }

  override close(callback: (error: Error | null) => void): void {
    close(this.fd, callback);
  }
}

async function open(path: string): Promise<yauzl.ZipFile> {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch (error) {
    throw new ArtifactError('LOCAL_IO', `Cannot read the spooled zip: ${describe(error)}`, { cause: error });
  }
  try {
    // The central directory is authoritative: yauzl reads it first and opens each entry at the offset it
    // gives. decodeStrings: false so that names reach our own checks (safe-path.ts, which refuse rather
    // than strip and name the entry) instead of yauzl's terse errors; strictFileNames only applies to
    // decoded names, so it stays off and getFileNameLowLevel below turns a backslash into `/` before the checks.
    // validateEntrySizes makes an entry that inflates to more or fewer bytes than declared an error.
    return await yauzl.fromRandomAccessReaderPromise(new SpoolReader(fd), size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    closeSync(fd);
    throw corrupt('Cannot read the zip directory', error);
  }
}

/** Reads the whole central directory; it, not the local headers, is authoritative for names and modes. */
function readDirectory(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (error) => reject(corrupt('Cannot read the zip directory', error)));
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, rel: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) =>
      error ? reject(corrupt(`Cannot read entry "${rel}"`, error, rel)) : resolve(stream),
    );
  });
}

function plan(entry: yauzl.Entry): Planned {
  const name = yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    entry.fileNameRaw,
    entry.extraFields,
    false,
  );
  const rel = normalizeEntryPath(name);
  const unix = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalFileAttributes >>> 16 : 0;
  const type = unix & S_IFMT;
  const mode = unix === 0 ? undefined : unix & 0o7777;
  if (type === S_IFLNK) return { entry, rel, kind: 'symlink', mode };
  if (type === S_IFDIR || name.endsWith('/') || (entry.externalFileAttributes & 0x10) !== 0) {
    return { entry, rel, kind: 'dir', mode };
  }
  if (type !== 0 && type !== S_IFREG) {
    throw new ArtifactError(
      'UNSUPPORTED_ENTRY',
      `Entry "${rel}" is a device, fifo or socket (mode ${type.toString(8)}); artifacts may only hold ` +
        'files, folders and symlinks.',
      { entry: rel },
    );
  }
  return { entry, rel, kind: 'file', mode };
}

export interface ExtractOptions {
  budget: Budget;
  signal?: AbortSignal | undefined;
}

/** Extracts a zip file on disk into the writer's root, checking everything declared before writing. */
export async function extractZip(path: string, writer: TreeWriter, opts: ExtractOptions): Promise<void> {
  const { budget, signal } = opts;
  const zip = await open(path);
  try {
    if (zip.entryCount > budget.limits.maxEntries) {
      throw new ArtifactError(
        'LIMIT_EXCEEDED',
        `The zip declares ${zip.entryCount} entries, more entries than limits.maxEntries ` +
          `(${budget.limits.maxEntries}). Raise the limit if this is expected, or ship fewer, larger files.`,
      );
    }
    const entries = await readDirectory(zip);

    // Pass 1: validate every declared name, kind and size before anything touches the disk.
    const byPath = new Map<string, Planned>();
    let declared = 0;
    for (const entry of entries) {
      const item = plan(entry);
      budget.addEntry(item.rel || '/');
      if (item.entry.isEncrypted()) {
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `Entry "${item.rel}" is encrypted; pipewright cannot read it.`,
          {
            entry: item.rel,
          },
        );
      }
      if (!item.entry.canDecodeFileData()) {
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `Entry "${item.rel}" uses compression method ${item.entry.compressionMethod}; only stored and ` +
            'deflate are supported. Rebuild the artifact with a standard zip tool.',
          { entry: item.rel },
        );
      }
      declared += entry.uncompressedSize;
      if (declared > budget.limits.maxBytes) throw budget.sizeError(item.rel);
      budget.checkRatio(entry.uncompressedSize, entry.compressedSize, `Entry "${item.rel}"`, item.rel);
      if (item.kind === 'symlink' && entry.uncompressedSize > MAX_LINK_TARGET) {
        throw corrupt(
          `Symlink "${item.rel}" has a ${entry.uncompressedSize}-byte target`,
          undefined,
          item.rel,
        );
      }
      if (item.rel === '') continue;
      // A later duplicate replaces an earlier one, as `unzip -o` would; planning dedupes so writes never race.
      byPath.delete(item.rel);
      byPath.set(item.rel, item);
    }
    budget.checkRatio(declared, zip.fileSize, 'The zip');

    const items = [...byPath.values()];
    const links = new Map<string, string>();
    for (const item of items) {
      if (item.kind !== 'symlink') continue;
      const stream = await openEntry(zip, item.entry, item.rel);
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      } catch (error) {
        throw corrupt(`Symlink "${item.rel}" is damaged`, error, item.rel);
      }
      const target = Buffer.concat(chunks);
      if (crc32(target) !== item.entry.crc32) {
        throw corrupt(`Symlink "${item.rel}" fails its CRC-32 check`, undefined, item.rel);
      }
      links.set(item.rel, target.toString('utf8'));
    }
    // With the whole directory known, links and paths through links are judged up front, whatever the order.
    for (const item of items) {
      const through = symlinkAncestor(item.rel, links);
      if (through !== undefined) throw throughSymlinkError(item.rel, through);
    }
    for (const [rel, target] of links) assertSafeLink(rel, target, links);

    // Pass 2: folders, then files (several at once), then links and folder modes (writer.finish).
    for (const item of items) {
      if (item.kind === 'dir') await writer.dir(item.rel, item.mode);
      else if (item.kind === 'symlink') writer.symlink(item.rel, links.get(item.rel)!);
    }
    const files = items.filter((item) => item.kind === 'file');
    let next = 0;
    let failure: { error: unknown } | undefined;
    const work = async () => {
      // The first failure stops every worker, and all of them settle before the zip (and its fd) is closed.
      while (failure === undefined && next < files.length) {
        const item = files[next++]!;
        try {
          if (signal?.aborted) throw abortError(signal);
          await writeEntry(zip, item, writer, budget);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, work));
    if (failure !== undefined) throw failure.error;
    await writer.finish();
  } finally {
    zip.close();
  }
}

async function writeEntry(
  zip: yauzl.ZipFile,
  item: Planned,
  writer: TreeWriter,
  budget: Budget,
): Promise<void> {
  const { entry, rel } = item;
  if (entry.uncompressedSize === 0 && entry.compressedSize === 0) {
    await writer.smallFile(rel, item.mode, Buffer.alloc(0));
    return;
  }
  const stream = await openEntry(zip, entry, rel);
  const small = entry.uncompressedSize <= SMALL_ENTRY;
  const chunks: Buffer[] = [];
  let written = 0;
  let crc = 0;
  const take = async (chunk: Buffer, write?: (chunk: Buffer) => Promise<unknown>) => {
    written += chunk.length;
    // Count what inflating really produces: the declared sizes were checked, this catches a liar early
    // (yauzl's validateEntrySizes would only say so at the end of the entry).
    budget.addBytes(chunk.length, rel);
    if (written > entry.uncompressedSize) {
      throw corrupt(`Entry "${rel}" inflates past its declared size`, undefined, rel);
    }
    if (written > RATIO_GRACE_BYTES) budget.checkRatio(written, entry.compressedSize, `Entry "${rel}"`, rel);
    crc = crc32(chunk, crc);
    if (write) await write(chunk);
    else chunks.push(chunk);
  };
  const pump = async (write?: (chunk: Buffer) => Promise<unknown>) => {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) await take(chunk, write);
      // yauzl checks sizes but not checksums; a flipped bit in a stored entry would otherwise go unnoticed.
      if (crc !== entry.crc32) throw corrupt(`Entry "${rel}" fails its CRC-32 check`, undefined, rel);
    } catch (error) {
      stream.destroy();
      if (error instanceof ArtifactError) throw error;
      if ((error as { syscall?: string }).syscall === 'write') {
        throw new ArtifactError('LOCAL_IO', `Cannot write "${rel}": ${describe(error)}`, {
          cause: error,
          entry: rel,
        });
      }
      throw corrupt(`Entry "${rel}" is damaged`, error, rel);
    }
  };
  if (small) {
    // Small entries are inflated into memory (at most SMALL_ENTRY) and written with synchronous calls.
    await pump();
    await writer.smallFile(rel, item.mode, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  } else {
    await writer.file(rel, item.mode, (fh) => pump((chunk) => fh.write(chunk)));
  }
}
