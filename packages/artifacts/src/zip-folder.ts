import { once } from 'node:events';
import { closeSync, constants, promises as fs, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import { ArtifactError, describe } from './errors.js';
import { resolveLinkTarget } from './safe-path.js';

const S_IFLNK = 0o120000;
/**
 * Files up to this size are read whole and given to yazl's `addBuffer`, which deflates each in Node's
 * thread pool as soon as it is added, so several are compressed at once (on every core) while yazl still
 * writes them in order. Larger files stream through one deflate stream each.
 */
const BUFFERED_MAX = 1024 * 1024;
/** Buffered files are added in batches; a batch ends after this many files or bytes. */
const BATCH_FILES = 16;
const BATCH_BYTES = 2 * 1024 * 1024;
/** Bytes of zip the consumer may leave unread before more entries are added. */
const OUTPUT_MAX = 1024 * 1024;
/** A link swapped in after the listing is not followed. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

interface Item {
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: Date;
  size: number;
  target?: string;
}

/** Lists a folder depth first with names sorted by code unit, so the same tree always zips the same order. */
async function walk(root: string): Promise<Item[]> {
  const items: Item[] = [];
  const visit = async (dirRel: string): Promise<void> => {
    const names = (await fs.readdir(dirRel === '' ? root : join(root, dirRel))).sort();
    // lstat a folder's entries together: one pool round trip per file, in sequence, dominates on many files.
    const stats = await Promise.all(
      names.map((name) => fs.lstat(join(root, dirRel === '' ? name : `${dirRel}/${name}`))),
    );
    for (const [index, name] of names.entries()) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const stat = stats[index]!;
      const base = { rel, mode: stat.mode, mtime: stat.mtime, size: stat.size };
      if (stat.isSymbolicLink()) {
        items.push({ ...base, kind: 'symlink', target: await fs.readlink(join(root, rel)) });
      } else if (stat.isDirectory()) {
        items.push({ ...base, kind: 'dir' });
        await visit(rel);
      } else if (stat.isFile()) {
        items.push({ ...base, kind: 'file' });
      } else {
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `"${rel}" in the output folder is a socket, fifo or device; artifacts may only hold files, ` +
            'folders and symlinks. Remove it before the artifact is collected.',
          { entry: rel },
        );
      }
    }
  };
  try {
    await visit('');
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError('LOCAL_IO', `Cannot read the output folder: ${describe(error)}`, {
      cause: error,
    });
  }
  return items;
}

export interface ZipFolderOptions {
  /** Deflate level 0-9 (0 stores). Default 6, as `zip` uses. */
  compressionLevel?: number;
}

export interface ZipStream {
  /** The zip bytes; they are produced as the consumer reads, so memory stays bounded. */
  stream: Readable;
  /** Files and symlinks in the zip (folders not counted). */
  files: number;
  /** An upper bound of the zip's size if nothing compresses: content plus headers. */
  estimatedBytes: number;
}

/**
 * Zips a folder as a stream: unix modes go into the external attributes, symlinks are stored as entries
 * with S_IFLNK and the link text as content (what `zip -y` and Info-ZIP's unzip understand), and folders
 * get their own entries so that their modes, and empty folders, survive. Links that would point outside the
 * artifact are refused here, because the next stage would refuse them anyway, with a less useful message.
 */
export async function zipFolder(sourceDir: string, opts: ZipFolderOptions = {}): Promise<ZipStream> {
  const level = opts.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new TypeError(`compressionLevel must be an integer from 0 to 9, got ${level}`);
  }
  const items = await walk(sourceDir);
  const links = new Map(items.filter((i) => i.kind === 'symlink').map((i) => [i.rel, i.target!]));
  for (const [rel, target] of links) {
    if (resolveLinkTarget(rel, target, links) === undefined) {
      throw new ArtifactError(
        'UNSAFE_SYMLINK',
        `Symlink "${rel}" -> "${target}" in the output folder points outside it; the next stage would ` +
          'refuse it. Make it a relative link inside the folder, or copy the file in.',
        { entry: rel },
      );
    }
  }
  let files = 0;
  let estimatedBytes = 22;
  for (const item of items) {
    if (item.kind !== 'dir') files++;
    estimatedBytes +=
      2 * (Buffer.byteLength(item.rel) + 70) + (item.kind === 'file' ? item.size * 1.001 + 5 : 0);
  }
  // yazl writes the entries in the order they are added (the walk's) and switches to zip64 records on its
  // own when they are needed.
  const zip = new yazl.ZipFile();
  const stream = zip.outputStream as Readable;
  zip.on('error', (error: unknown) => stream.destroy(error as Error));
  addEntries(zip, items, sourceDir, level).catch((error: unknown) => zip.emit('error', error));
  return { stream, files, estimatedBytes };
}

/**
 * Adds the entries to yazl while the consumer reads, holding a bounded amount in memory.
 *
 * `addBuffer` starts deflating as soon as it is called and writes nothing until all earlier entries are
 * written, but it says nothing when that happens. `addReadStreamLazy` does: yazl asks for the stream
 * exactly when every earlier entry is written and the output has room (it pipes into it). So the first
 * file of each batch is added lazily, and its call is the signal that the batch before it is out: at most
 * two batches (32 files, 4 MiB) are read and deflating at once, plus one large file streaming.
 */
async function addEntries(zip: yazl.ZipFile, items: Item[], sourceDir: string, level: number) {
  const output = zip.outputStream as PassThrough;
  const stopped = new Promise<void>((resolve) => output.once('close', resolve));
  /** One promise per batch, resolved when yazl starts its first entry (every earlier batch is written). */
  const batchStarts: Promise<void>[] = [];
  let batchFiles = 0;
  let batchBytes = 0;
  for (const item of items) {
    if (output.destroyed) return;
    const options = { mtime: item.mtime, mode: item.mode & 0o177777 };
    if (item.kind === 'dir') {
      zip.addEmptyDirectory(`${item.rel}/`, options);
    } else if (item.kind === 'symlink') {
      zip.addBuffer(Buffer.from(item.target!, 'utf8'), item.rel, {
        ...options,
        mode: S_IFLNK | (item.mode & 0o777),
        compress: false,
      });
    } else if (item.size <= BUFFERED_MAX && batchFiles < BATCH_FILES && batchBytes < BATCH_BYTES) {
      const data = readSmall(sourceDir, item);
      zip.addBuffer(data, item.rel, { ...options, compressionLevel: level });
      batchFiles++;
      batchBytes += data.length;
    } else {
      // This file starts a new batch. A small one is read now (its errors come in order); a large one is
      // opened when yazl asks for it and streams through its own deflate stream.
      const data = item.size <= BUFFERED_MAX ? readSmall(sourceDir, item) : undefined;
      batchStarts.push(
        new Promise<void>((started) => {
          zip.addReadStreamLazy(
            item.rel,
            { ...options, compressionLevel: level, size: data?.length ?? item.size },
            (cb) => {
              started();
              if (data) cb(null, new PassThrough().end(data));
              else
                openLarge(zip, sourceDir, item).then(
                  (input) => cb(null, input),
                  (error: unknown) => cb(error, new PassThrough()),
                );
            },
          );
        }),
      );
      batchFiles = 1;
      batchBytes = data?.length ?? 0;
      // Wait until the batch before the previous one is written out, and the consumer has taken most of
      // it: yazl's writes of buffered entries do not wait for the output to drain.
      while (batchStarts.length > 1) await Promise.race([batchStarts.shift(), stopped]);
      while (output.writableLength + output.readableLength > OUTPUT_MAX && !output.destroyed) {
        await Promise.race([once(output, 'drain'), stopped]);
      }
    }
  }
  if (!output.destroyed) zip.end();
}

function readSmall(sourceDir: string, item: Item): Buffer {
  try {
    // Synchronous on purpose, as zip does: a small read from the page cache costs less than a trip through
    // the thread pool, which is busy deflating.
    const fd = openSync(join(sourceDir, item.rel), READ_FLAGS);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw readError(item, error);
  }
}

async function openLarge(zip: yazl.ZipFile, sourceDir: string, item: Item): Promise<Readable> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(join(sourceDir, item.rel), READ_FLAGS);
  } catch (error) {
    throw readError(item, error);
  }
  const input = handle.createReadStream();
  // yazl reports a failed stream as its own error; this one names the file.
  input.once('error', (error: Error) => zip.emit('error', readError(item, error)));
  return input;
}

function readError(item: Item, error: unknown): ArtifactError {
  return new ArtifactError('LOCAL_IO', `Cannot read "${item.rel}" while zipping: ${describe(error)}`, {
    cause: error,
    entry: item.rel,
  });
}
