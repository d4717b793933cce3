import { createReadStream, promises as fs, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { ArtifactError, abortError, describe } from './errors.js';
import type { Budget } from './limits.js';
import { assertSafeLink, normalizeEntryPath, symlinkAncestor, throughSymlinkError } from './safe-path.js';
import type { TreeWriter } from './tree-writer.js';
import { readZipDirectory, type ZipEntry } from './zip-directory.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET = 4096;
/** Longest stretch of synchronous extraction work before yielding to the event loop. */
const YIELD_MS = 10;

interface Planned {
  entry: ZipEntry;
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

function plan(entry: ZipEntry): Planned {
  const name = entry.name;
  const rel = normalizeEntryPath(name);
  const unix = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalAttributes >>> 16 : 0;
  const type = unix & S_IFMT;
  const mode = unix === 0 ? undefined : unix & 0o7777;
  if (type === S_IFLNK) return { entry, rel, kind: 'symlink', mode };
  if (type === S_IFDIR || name.endsWith('/') || (entry.externalAttributes & 0x10) !== 0) {
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
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r');
  } catch (error) {
    throw new ArtifactError('LOCAL_IO', `Cannot open the spooled zip: ${describe(error)}`, { cause: error });
  }
  try {
    const fileSize = (await fh.stat()).size;
    const { entries, dataEnd } = await readZipDirectory(fh, fileSize, budget.limits.maxEntries);

    // Pass 1: validate every declared name, kind and size before anything touches the disk.
    const byPath = new Map<string, Planned>();
    let declared = 0;
    for (const entry of entries) {
      const item = plan(entry);
      budget.addEntry(item.rel || '/');
      if ((entry.flags & 1) !== 0) {
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `Entry "${item.rel}" is encrypted; pipewright cannot read it.`,
          {
            entry: item.rel,
          },
        );
      }
      if (entry.method !== 0 && entry.method !== 8) {
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `Entry "${item.rel}" uses compression method ${entry.method}; only stored and deflate are ` +
            'supported. Rebuild the artifact with a standard zip tool.',
          { entry: item.rel },
        );
      }
      if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) {
        throw corrupt(`Stored entry "${item.rel}" has different sizes in its header`, undefined, item.rel);
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
    budget.checkRatio(declared, fileSize, 'The zip');

    const reader = new EntryReader(fh, path, dataEnd);
    const items = [...byPath.values()];
    const links = new Map<string, string>();
    for (const item of items) {
      if (item.kind !== 'symlink') continue;
      const data = readSmall(reader, item);
      links.set(item.rel, data.toString('utf8'));
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
    // One file after the other, small ones with synchronous calls on this thread, like `unzip`: handing
    // three tiny syscalls per file to libuv's pool costs more (thread wake-ups) than the syscalls. The loop
    // yields every few milliseconds so the rest of the process (other jobs, heartbeats) keeps running.
    const scratch: Scratch = { buffer: Buffer.alloc(0) };
    let slice = performance.now();
    for (const item of files) {
      if (signal?.aborted) throw abortError(signal);
      await writeEntry(reader, item, writer, budget, scratch);
      if (performance.now() - slice > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    await writer.finish();
  } finally {
    await fh.close();
  }
}

/** Entries up to this size are read with one positional read and inflated in one call. */
const SMALL_ENTRY = 1024 * 1024;
const LOCAL_HEADER = 30;

/**
 * Reads entry data straight from the spooled file. Per-entry streams (a file stream plus a zlib stream per
 * entry, as yauzl does) cost far more than the data for the typical artifact of many small files; one
 * pread and one inflate per small entry is what lets extraction keep pace with `unzip`. Large entries are
 * streamed so memory stays bounded.
 */
/**
 * A read buffer owned by one extraction worker and reused for every entry it reads: on many small files,
 * allocating a fresh buffer per entry is what drives peak RSS (garbage waits for the next GC).
 */
interface Scratch {
  buffer: Buffer;
}

class EntryReader {
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly dataEnd: number,
  ) {}

  /** Offset of the entry's data, from its local header (whose extra field may differ from the central one). */
  dataStart(
    entry: ZipEntry,
    rel: string,
    prefetch = 0,
    scratch: Scratch = { buffer: Buffer.alloc(0) },
  ): { start: number; head: Buffer } {
    // A guess: the local name and extra field usually match the central ones; read again when they do not.
    const want = LOCAL_HEADER + Buffer.byteLength(entry.name) + 64 + prefetch;
    if (scratch.buffer.length < want) scratch.buffer = Buffer.allocUnsafe(Math.max(want, 64 * 1024));
    const head = scratch.buffer;
    const bytesRead = readSync(this.fh.fd, head, 0, want, entry.localHeaderOffset);
    if (bytesRead < LOCAL_HEADER || head.readUInt32LE(0) !== 0x04034b50) {
      throw corrupt(`Entry "${rel}" has no local header where the directory says`, undefined, rel);
    }
    const start = entry.localHeaderOffset + LOCAL_HEADER + head.readUInt16LE(26) + head.readUInt16LE(28);
    if (start + entry.compressedSize > this.dataEnd) {
      throw corrupt(`Entry "${rel}" runs past the end of the zip data`, undefined, rel);
    }
    return { start, head: head.subarray(0, bytesRead) };
  }

  /** The result may live in `scratch`: use it before the next read with the same scratch. */
  small(entry: ZipEntry, rel: string, scratch?: Scratch): Buffer {
    const { start, head } = this.dataStart(entry, rel, entry.compressedSize, scratch);
    const from = start - entry.localHeaderOffset;
    let raw: Buffer;
    if (from + entry.compressedSize <= head.length) {
      raw = head.subarray(from, from + entry.compressedSize);
    } else {
      raw = Buffer.allocUnsafe(entry.compressedSize);
      const bytesRead = readSync(this.fh.fd, raw, 0, entry.compressedSize, start);
      if (bytesRead !== entry.compressedSize) throw corrupt(`Entry "${rel}" is truncated`, undefined, rel);
    }
    if (entry.method === 0) return raw;
    try {
      // maxOutputLength makes a size-lying entry fail here instead of allocating what it claims not to need.
      return inflateRawSync(raw, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw corrupt(`Entry "${rel}" inflates past its declared size`, undefined, rel);
      }
      throw corrupt(`Entry "${rel}" is damaged`, error, rel);
    }
  }

  async stream(entry: ZipEntry, rel: string): Promise<AsyncIterable<Buffer>> {
    const { start } = this.dataStart(entry, rel);
    const raw = createReadStream(this.path, {
      start,
      end: start + entry.compressedSize - 1,
      highWaterMark: 256 * 1024,
    });
    if (entry.method === 0) return raw;
    const inflate = createInflateRaw({ chunkSize: 256 * 1024 });
    raw.on('error', (error) => inflate.destroy(error));
    return raw.pipe(inflate);
  }
}

/** Reads, inflates and checks (size and CRC-32) a small entry in memory. */
function readSmall(reader: EntryReader, item: Planned, scratch?: Scratch): Buffer {
  const { entry, rel } = item;
  const data =
    entry.uncompressedSize === 0 && entry.compressedSize === 0
      ? Buffer.alloc(0)
      : reader.small(entry, rel, scratch);
  if (data.length !== entry.uncompressedSize) {
    throw corrupt(
      `Entry "${rel}" has ${data.length} bytes, its header says ${entry.uncompressedSize}`,
      undefined,
      rel,
    );
  }
  // The CRC is what catches a flipped bit in a stored entry, or a damaged one that still inflates.
  if (crc32(data) !== entry.crc32) throw corrupt(`Entry "${rel}" fails its CRC-32 check`, undefined, rel);
  return data;
}

async function writeEntry(
  reader: EntryReader,
  item: Planned,
  writer: TreeWriter,
  budget: Budget,
  scratch: Scratch,
): Promise<void> {
  const { entry, rel } = item;
  if (entry.uncompressedSize <= SMALL_ENTRY && entry.compressedSize <= SMALL_ENTRY) {
    const data = readSmall(reader, item, scratch);
    budget.addBytes(data.length, rel);
    await writer.smallFile(rel, item.mode, data);
    return;
  }
  await writer.file(rel, item.mode, async (fh) => {
    const stream = await reader.stream(entry, rel);
    let written = 0;
    let crc = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        written += chunk.length;
        // Count what inflating really produces: the declared sizes were checked, this catches a liar.
        budget.addBytes(chunk.length, rel);
        if (written > entry.uncompressedSize) {
          throw corrupt(`Entry "${rel}" inflates past its declared size`, undefined, rel);
        }
        budget.checkRatio(written, entry.compressedSize, `Entry "${rel}"`, rel);
        crc = crc32(chunk, crc);
        await fh.write(chunk);
      }
      if (written !== entry.uncompressedSize) {
        throw corrupt(
          `Entry "${rel}" has ${written} bytes, its header says ${entry.uncompressedSize}`,
          undefined,
          rel,
        );
      }
      if (crc !== entry.crc32) throw corrupt(`Entry "${rel}" fails its CRC-32 check`, undefined, rel);
    } catch (error) {
      (stream as { destroy?: () => void }).destroy?.();
      if (error instanceof ArtifactError) throw error;
      if ((error as { syscall?: string }).syscall === 'write') {
        throw new ArtifactError('LOCAL_IO', `Cannot write "${rel}": ${describe(error)}`, {
          cause: error,
          entry: rel,
        });
      }
      throw corrupt(`Entry "${rel}" is damaged`, error, rel);
    }
  });
}
