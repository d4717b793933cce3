import type { Readable } from 'node:stream';
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

function open(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings: false so that names reach our own checks (which name the entry and say what to do)
    // instead of yauzl's terse errors; validateEntrySizes makes a lying size header an error.
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true },
      (error, zip) => (error ? reject(corrupt('Cannot read the zip directory', error)) : resolve(zip)),
    );
  });
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
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      links.set(item.rel, Buffer.concat(chunks).toString('utf8'));
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
    const work = async () => {
      while (next < files.length) {
        if (signal?.aborted) throw abortError(signal);
        const item = files[next++]!;
        await writeEntry(zip, item, writer, budget);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, work));
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
  await writer.file(rel, item.mode, async (fh) => {
    if (entry.uncompressedSize === 0 && entry.compressedSize === 0) return;
    const stream = await openEntry(zip, entry, rel);
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
        if (written > RATIO_GRACE_BYTES)
          budget.checkRatio(written, entry.compressedSize, `Entry "${rel}"`, rel);
        crc = crc32(chunk, crc);
        await fh.write(chunk);
      }
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
  });
}
