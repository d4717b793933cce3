import { Readable } from 'node:stream';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { ArtifactError, abortError, describe } from './errors.js';
import type { Budget } from './limits.js';
import { normalizeEntryPath, symlinkAncestor, throughSymlinkError } from './safe-path.js';
import type { TreeWriter } from './tree-writer.js';
import { type RandomAccess, readZipDirectory, type ZipEntry } from './zip-directory.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET = 4096;
const LOCAL_HEADER = 30;
const LOCAL_SIGNATURE = 0x04034b50;
/** Entries up to this size are gathered in memory and inflated and written in one go. */
const SMALL_ENTRY = 1024 * 1024;
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

/**
 * Sequential reads over a byte stream: skip to an offset, read a few bytes, or hand out the next n bytes
 * as they arrive. Only the chunk in hand is held.
 */
class ByteStream {
  position = 0;
  #chunk: Buffer = Buffer.alloc(0);
  readonly #source: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #more(): Promise<void> {
    const next = await this.#source.next();
    if (next.done) throw corrupt(`The zip ends early, at byte ${this.position}`);
    this.#chunk = next.value;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.#chunk.length === 0) await this.#more();
      const k = Math.min(n, this.#chunk.length);
      this.#chunk = this.#chunk.subarray(k);
      this.position += k;
      n -= k;
    }
  }

  /** Exactly n bytes; into `into` when it is large enough (reused between entries). */
  async read(n: number, into?: Buffer): Promise<Buffer> {
    if (this.#chunk.length === 0 && n > 0) await this.#more();
    if (this.#chunk.length >= n) {
      const out = this.#chunk.subarray(0, n);
      this.#chunk = this.#chunk.subarray(n);
      this.position += n;
      return out;
    }
    const out = into && into.length >= n ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      if (this.#chunk.length === 0) await this.#more();
      const k = this.#chunk.copy(out, at, 0, Math.min(this.#chunk.length, n - at));
      this.#chunk = this.#chunk.subarray(k);
      this.position += k;
      at += k;
    }
    return out;
  }

  async *take(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      if (this.#chunk.length === 0) await this.#more();
      const k = Math.min(n, this.#chunk.length);
      const out = this.#chunk.subarray(0, k);
      this.#chunk = this.#chunk.subarray(k);
      this.position += k;
      n -= k;
      yield out;
    }
  }
}

export interface ExtractOptions {
  budget: Budget;
  signal?: AbortSignal | undefined;
}

/**
 * Extracts a zip. The central directory (the only place holding permissions and symlink flags) is read
 * first through `access`, for S3 a ranged GET of the object's tail, and every name, kind, size and ratio
 * is checked before a byte is written. Then the entries are extracted in file order from `source`, the
 * object streamed from its first byte, so extraction runs while the download is still arriving; nothing is
 * spooled to disk. Small entries are inflated in one call and written with synchronous calls (like
 * `unzip`; a trip through libuv's pool per tiny syscall costs more than the syscall); large ones stream.
 */
export async function extractZip(
  source: AsyncIterable<Buffer>,
  access: RandomAccess,
  writer: TreeWriter,
  opts: ExtractOptions,
): Promise<void> {
  const { budget, signal } = opts;
  const { entries, dataEnd } = await readZipDirectory(access, budget.limits.maxEntries);

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
      throw corrupt(`Symlink "${item.rel}" has a ${entry.uncompressedSize}-byte target`, undefined, item.rel);
    }
    if (item.rel === '') continue;
    // A later duplicate replaces an earlier one, as `unzip -o` would.
    byPath.delete(item.rel);
    byPath.set(item.rel, item);
  }
  budget.checkRatio(declared, access.size, 'The zip');

  const items = [...byPath.values()];
  // Paths through links are judged up front from the directory; link targets once they are read (finish()).
  const linkPaths = new Set(items.filter((i) => i.kind === 'symlink').map((i) => i.rel));
  for (const item of items) {
    const through = symlinkAncestor(item.rel, linkPaths);
    if (through !== undefined) throw throughSymlinkError(item.rel, through);
  }
  for (const item of items) if (item.kind === 'dir') await writer.dir(item.rel, item.mode);

  const data = items
    .filter((item) => item.kind !== 'dir')
    .sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  const stream = new ByteStream(source);
  const scratch = { buffer: Buffer.alloc(64 * 1024) };
  let slice = performance.now();
  for (const item of data) {
    if (signal?.aborted) throw abortError(signal);
    const { entry, rel } = item;
    const gap = entry.localHeaderOffset - stream.position;
    // Entries sharing bytes are how "overlapping" zip bombs multiply a small kernel; refuse them.
    if (gap < 0) throw corrupt(`Entry "${rel}" overlaps the entry before it`, undefined, rel);
    await stream.skip(gap);
    const header = await stream.read(LOCAL_HEADER);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) {
      throw corrupt(`Entry "${rel}" has no local header where the directory says`, undefined, rel);
    }
    await stream.skip(header.readUInt16LE(26) + header.readUInt16LE(28));
    if (stream.position + entry.compressedSize > dataEnd) {
      throw corrupt(`Entry "${rel}" runs past the end of the zip data`, undefined, rel);
    }
    if (entry.uncompressedSize <= SMALL_ENTRY && entry.compressedSize <= SMALL_ENTRY) {
      if (scratch.buffer.length < entry.compressedSize)
        scratch.buffer = Buffer.allocUnsafe(entry.compressedSize);
      const content = inflateSmall(item, await stream.read(entry.compressedSize, scratch.buffer));
      if (item.kind === 'symlink') {
        writer.symlink(rel, content.toString('utf8'));
      } else {
        budget.addBytes(content.length, rel);
        await writer.smallFile(rel, item.mode, content);
      }
    } else {
      await writeLarge(stream, item, writer, budget);
    }
    if (performance.now() - slice > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  await writer.finish();
}

/** Inflates (or takes) a small entry and checks its size and CRC-32. */
function inflateSmall(item: Planned, raw: Buffer): Buffer {
  const { entry, rel } = item;
  let data = raw;
  if (entry.method === 8 && !(entry.uncompressedSize === 0 && raw.length === 0)) {
    try {
      // maxOutputLength makes a size-lying entry fail here instead of allocating what it claims not to need.
      data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw corrupt(`Entry "${rel}" inflates past its declared size`, undefined, rel);
      }
      throw corrupt(`Entry "${rel}" is damaged`, error, rel);
    }
  }
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

async function writeLarge(
  stream: ByteStream,
  item: Planned,
  writer: TreeWriter,
  budget: Budget,
): Promise<void> {
  const { entry, rel } = item;
  if (item.kind === 'symlink') throw corrupt(`Symlink "${rel}" is too large`, undefined, rel);
  const raw = Readable.from(stream.take(entry.compressedSize), { objectMode: false });
  let output: AsyncIterable<Buffer> = raw;
  let inflate: ReturnType<typeof createInflateRaw> | undefined;
  if (entry.method === 8) {
    inflate = createInflateRaw({ chunkSize: 256 * 1024 });
    raw.on('error', (error) => inflate!.destroy(error));
    output = raw.pipe(inflate);
  }
  await writer.file(rel, item.mode, async (fh) => {
    let written = 0;
    let crc = 0;
    try {
      for await (const chunk of output) {
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
      inflate?.destroy();
      raw.destroy();
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
  // The inflater may stop before the raw bytes do (trailing bytes); the next entry's skip passes over them.
  raw.destroy();
}
