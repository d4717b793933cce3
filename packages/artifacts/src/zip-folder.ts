import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { ArtifactError, describe } from './errors.js';
import { resolveLinkTarget } from './safe-path.js';

const S_IFLNK = 0o120000;
/** Small files read ahead of yazl, and the size up to which a file counts as small. */
const READ_AHEAD = 16;
const READ_AHEAD_MAX = 1024 * 1024;

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
  // yazl writes the entries in the order they are added (the walk's), streams each file's content
  // through deflate as the consumer reads, and switches to zip64 records on its own when they are needed.
  const zip = new yazl.ZipFile();
  // yazl opens one file at a time, when its turn comes; the next few small files are read meanwhile, so
  // the zip is not waiting on an open/read/close round trip per file. At most READ_AHEAD x 1 MiB is held.
  const fileItems: Item[] = [];
  const ahead = new Map<number, Promise<Buffer>>();
  let aheadNext = 0;
  const readAhead = (from: number) => {
    aheadNext = Math.max(aheadNext, from);
    while (aheadNext < fileItems.length && aheadNext < from + READ_AHEAD) {
      const item = fileItems[aheadNext]!;
      if (item.size <= READ_AHEAD_MAX) {
        const read = fs.readFile(join(sourceDir, item.rel));
        read.catch(() => {}); // reported when its entry is reached, if ever
        ahead.set(aheadNext, read);
      }
      aheadNext++;
    }
  };
  let files = 0;
  let estimatedBytes = 22;
  for (const item of items) {
    estimatedBytes +=
      2 * (Buffer.byteLength(item.rel) + 70) + (item.kind === 'file' ? item.size * 1.001 + 5 : 0);
    if (item.kind === 'dir') {
      zip.addEmptyDirectory(`${item.rel}/`, { mtime: item.mtime, mode: item.mode & 0o177777 });
    } else if (item.kind === 'symlink') {
      files++;
      zip.addBuffer(Buffer.from(item.target!, 'utf8'), item.rel, {
        mtime: item.mtime,
        mode: S_IFLNK | (item.mode & 0o777),
        compress: false,
      });
    } else {
      files++;
      const index = fileItems.length;
      fileItems.push(item);
      zip.addReadStreamLazy(
        item.rel,
        { mtime: item.mtime, mode: item.mode & 0o177777, size: item.size, compressionLevel: level },
        (cb) => {
          readAhead(index + 1);
          const buffered = ahead.get(index);
          ahead.delete(index);
          const input: Readable = buffered
            ? Readable.from(
                (async function* () {
                  yield await buffered;
                })(),
                { objectMode: false },
              )
            : createReadStream(join(sourceDir, item.rel));
          // yazl reports a failed stream as its own error; wrap it so the message names the file.
          input.once('error', (error: Error) =>
            zip.emit(
              'error',
              new ArtifactError('LOCAL_IO', `Cannot read "${item.rel}" while zipping: ${describe(error)}`, {
                cause: error,
                entry: item.rel,
              }),
            ),
          );
          cb(null, input);
        },
      );
    }
  }
  zip.end();
  const stream = zip.outputStream as Readable;
  zip.on('error', (error: unknown) => stream.destroy(error as Error));
  return { stream, files, estimatedBytes };
}
