import { once } from 'node:events';
import {
  closeSync,
  constants,
  promises as fs,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import { DeflateWorkers } from './deflate-workers.js';
import { detachAfterCopies } from './detach.js';
import { ArtifactError, describe } from './errors.js';
import { resolveLinkTarget } from './safe-path.js';
import { youngGc } from './young-gc.js';

// addDeflatedBuffer comes from the yazl patch in patches/ (written for upstream); @types/yazl lacks it.
declare module 'yazl' {
  interface ZipFile {
    addDeflatedBuffer(
      compressedBuffer: Buffer,
      metadataPath: string,
      options: Partial<Options> & { uncompressedSize: number; crc32: number },
    ): void;
  }
}

const S_IFLNK = 0o120000;
/**
 * Files up to this size are read whole, checksummed and deflated ahead of yazl by worker threads, several
 * at once, on every core (see DeflateWorkers). Larger files stream through yazl's own deflate stream, one at
 * a time.
 */
const BUFFERED_MAX = 1024 * 1024;
/** How far ahead of yazl files are prepared: at most this many entries or bytes of small files. */
const AHEAD_FILES = 64;
const AHEAD_BYTES = 4 * 1024 * 1024;
/** Bytes of zip the consumer may leave unread before more entries are added. */
const OUTPUT_MAX = 1024 * 1024;
/** A link swapped in after the listing is not followed. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * One listed entry. A class, so that all 20,000 of a large listing share one hidden class: built with an
 * object spread, each item got a hidden class of its own (about 250 bytes more per item, 6 MiB for the
 * benchmark's tree). The time is kept as a number; yazl gets a Date only as the entry is added.
 */
class Item {
  constructor(
    readonly rel: string,
    readonly kind: 'file' | 'dir' | 'symlink',
    readonly mode: number,
    readonly mtimeMs: number,
    readonly size: number,
    readonly target: string | undefined,
  ) {}

  /** yazl's options for this entry. */
  options(): { mtime: Date; mode: number } {
    return { mtime: new Date(this.mtimeMs), mode: this.mode & 0o177777 };
  }
}

/**
 * Lists a folder depth first with names sorted by code unit, so the same tree always zips the same order.
 * Synchronous, as zip does: nothing else runs yet, and an lstat from the page cache costs a few
 * microseconds, about a tenth of a round trip through the thread pool.
 */
function walk(root: string): Item[] {
  const items: Item[] = [];
  const visit = (dirRel: string): void => {
    const names = readdirSync(dirRel === '' ? root : join(root, dirRel)).sort();
    for (const name of names) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const stat = lstatSync(join(root, rel));
      const item = (kind: Item['kind'], target?: string) =>
        new Item(rel, kind, stat.mode, stat.mtimeMs, stat.size, target);
      if (stat.isSymbolicLink()) {
        items.push(item('symlink', readlinkSync(join(root, rel))));
      } else if (stat.isDirectory()) {
        items.push(item('dir'));
        visit(rel);
      } else if (stat.isFile()) {
        items.push(item('file'));
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
    visit('');
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
  /** Threads deflating small files, 1-4. Default 1; see UploadOptions.threads. */
  threads?: number;
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
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 4) {
    throw new TypeError(`threads must be an integer from 1 to 4, got ${threads}`);
  }
  const items: (Item | undefined)[] = walk(sourceDir);
  const links = new Map<string, string>();
  for (const item of items) if (item?.kind === 'symlink') links.set(item.rel, item.target!);
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
  for (const item of items as Item[]) {
    if (item.kind !== 'dir') files++;
    estimatedBytes +=
      2 * (Buffer.byteLength(item.rel) + 70) + (item.kind === 'file' ? item.size * 1.001 + 5 : 0);
  }
  // yazl writes the entries in the order they are added (the walk's) and switches to zip64 records on its
  // own when they are needed.
  const zip = new yazl.ZipFile();
  const stream = zip.outputStream as Readable;
  zip.on('error', (error: unknown) => stream.destroy(error as Error));
  // Without the yazl patch (a consumer outside this workspace installs plain yazl), every file streams:
  // plain yazl's addBuffer keeps each buffer until the zip ends. Slower, still bounded and correct.
  const patched = typeof zip.addDeflatedBuffer === 'function';
  const workers = level === 0 || !patched ? undefined : new DeflateWorkers(level, READ_FLAGS, threads);
  // The thread starts before the upload does, while nothing else runs here (see DeflateWorkers.start).
  if (workers && items.some((item) => item?.kind === 'file' && item.size <= BUFFERED_MAX)) {
    await workers.start();
  }
  addEntries(zip, items, sourceDir, level, patched, workers).catch((error: unknown) =>
    zip.emit('error', error),
  );
  return { stream, files, estimatedBytes };
}

/**
 * Adds the entries to yazl while the consumer reads, holding a bounded amount in memory. Small files are
 * read, checksummed and deflated ahead by worker threads (see DeflateWorkers) and handed to yazl strictly
 * in the walk's order, already compressed; yazl writes them as they come. The listing is let go of item by
 * item as they are started: yazl keeps what the central directory needs, and nothing else needs them.
 */
async function addEntries(
  zip: yazl.ZipFile,
  items: (Item | undefined)[],
  sourceDir: string,
  level: number,
  patched: boolean,
  workers: DeflateWorkers | undefined,
) {
  const output = zip.outputStream as PassThrough;
  const stopped = new Promise<void>((resolve) => output.once('close', resolve));
  /** Entries being prepared, in order; each resolves to the call that adds it to yazl. */
  const ahead: Ahead[] = [];
  let aheadBytes = 0;
  const start = (item: Item): Ahead => {
    if (item.kind !== 'file' || item.size > BUFFERED_MAX || !patched) {
      return { bytes: 0, add: Promise.resolve(addCall(zip, sourceDir, item, level, stopped)) };
    }
    if (workers) {
      const ticket = workers.submit(join(sourceDir, item.rel), item.size);
      const add = ticket.result.then(
        (d) => () =>
          zip.addDeflatedBuffer(d.compressed, item.rel, {
            ...item.options(),
            uncompressedSize: d.size,
            crc32: d.crc32,
          }),
        (error: unknown) => {
          throw readError(item, error);
        },
      );
      return { bytes: item.size, add, send: ticket.send };
    }
    // Stored (level 0): read here, added as it is.
    try {
      const data = readSmall(sourceDir, item);
      // yazl writes it once, as it is, and the upload's body copies it: it is freed then rather than at a
      // full collection (see detach.ts), once a young collection takes the clone that holds it, which the
      // bytes read pace as the threads' deflated bytes do. (A file that shrank while read is a slice.)
      if (data.byteOffset === 0 && data.buffer.byteLength === data.length) {
        detachAfterCopies(data.buffer, data.length > 0 ? 1 : 0);
      }
      youngGc.add(data.length);
      return {
        bytes: item.size,
        add: Promise.resolve(() => zip.addBuffer(data, item.rel, { ...item.options(), compress: false })),
      };
    } catch (error) {
      return { bytes: 0, add: Promise.reject(error) };
    }
  };
  const addNext = async () => {
    const next = ahead.shift()!;
    aheadBytes -= next.bytes;
    next.send?.();
    const added = (await next.add)();
    // A streamed file goes through yazl at its own pace; wait for it, so later entries do not pile up.
    if (added) await Promise.race([added, stopped]);
    // yazl writes buffered entries without waiting for the consumer: wait for it here instead.
    while (output.writableLength + output.readableLength > OUTPUT_MAX && !output.destroyed) {
      await Promise.race([once(output, 'drain'), stopped]);
    }
  };
  try {
    for (let i = 0; i < items.length; i++) {
      if (output.destroyed) return;
      const next = start(items[i]!);
      items[i] = undefined;
      next.add.catch(() => {}); // reported in order, when addNext reaches it
      ahead.push(next);
      aheadBytes += next.bytes;
      while (ahead.length >= AHEAD_FILES || aheadBytes >= AHEAD_BYTES) await addNext();
    }
    while (ahead.length > 0 && !output.destroyed) await addNext();
    if (!output.destroyed) zip.end();
  } finally {
    await workers?.close();
  }
}

interface Ahead {
  /** Bytes of a small file held (or being read) until it is added. */
  bytes: number;
  add: Promise<() => Promise<void> | void>;
  /** Sends the file to its worker now, if it still waits for its batch to fill. */
  send?: () => void;
}

/** The call that adds a folder, link or streamed file to yazl; a streamed file's resolves when it is read. */
function addCall(
  zip: yazl.ZipFile,
  sourceDir: string,
  item: Item,
  level: number,
  stopped: Promise<void>,
): () => Promise<void> | void {
  const options = item.options();
  if (item.kind === 'dir') return () => zip.addEmptyDirectory(`${item.rel}/`, options);
  if (item.kind === 'symlink') {
    const target = Buffer.from(item.target!, 'utf8');
    const mode = S_IFLNK | (item.mode & 0o777);
    return () => zip.addBuffer(target, item.rel, { ...options, mode, compress: false });
  }
  const streamOptions = { ...options, compressionLevel: level, size: item.size };
  return () =>
    new Promise<void>((done) => {
      zip.addReadStreamLazy(item.rel, streamOptions, (cb) => {
        openStream(zip, sourceDir, item, stopped).then(
          (input) => {
            input.once('close', done);
            cb(null, input);
          },
          (error: unknown) => cb(error, new PassThrough()),
        );
      });
    });
}

function readSmall(sourceDir: string, item: Item): Buffer {
  try {
    // Synchronous on purpose, as zip does: a small read from the page cache costs less than a trip through
    // the thread pool.
    const fd = openSync(join(sourceDir, item.rel), READ_FLAGS);
    try {
      // Into a buffer of its own, which can be freed as soon as it is copied: Node 24's readFileSync hands
      // out slices of shared 64 KiB slabs, which stay until every file in them has been collected.
      const size = fstatSync(fd).size;
      const data = Buffer.allocUnsafeSlow(size);
      let at = 0;
      while (at < size) {
        const n = readSync(fd, data, at, size - at, null);
        if (n === 0) break; // shrunk since: what is there is what gets zipped
        at += n;
      }
      return at === size ? data : data.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw readError(item, error);
  }
}

async function openStream(
  zip: yazl.ZipFile,
  sourceDir: string,
  item: Item,
  stopped: Promise<void>,
): Promise<Readable> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(join(sourceDir, item.rel), READ_FLAGS);
  } catch (error) {
    throw readError(item, error);
  }
  const input = handle.createReadStream();
  // yazl reports a failed stream as its own error; this one names the file.
  input.once('error', (error: Error) => zip.emit('error', readError(item, error)));
  // yazl does not close a source whose output was destroyed (an abort); this does.
  void stopped.then(() => input.destroy());
  return input;
}

function readError(item: Item, error: unknown): ArtifactError {
  return new ArtifactError('LOCAL_IO', `Cannot read "${item.rel}" while zipping: ${describe(error)}`, {
    cause: error,
    entry: item.rel,
  });
}
