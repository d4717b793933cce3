import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactError, describe } from './errors.js';
import { resolveLinkTarget } from './safe-path.js';
import { writeZip, type ZipInput } from './zip-writer.js';

const S_IFLNK = 0o120000;

interface Item {
  rel: string;
  abs: string;
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
      const abs = join(root, rel);
      const stat = stats[index]!;
      const base = { rel, abs, mode: stat.mode, mtime: stat.mtime, size: stat.size };
      if (stat.isSymbolicLink()) {
        items.push({ ...base, kind: 'symlink', target: await fs.readlink(abs) });
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
  const inputs: ZipInput[] = items.map((item) =>
    item.kind === 'symlink'
      ? {
          kind: 'symlink',
          name: item.rel,
          mode: S_IFLNK | (item.mode & 0o777),
          mtime: item.mtime,
          target: item.target!,
        }
      : item.kind === 'dir'
        ? { kind: 'dir', name: item.rel, mode: item.mode & 0o177777, mtime: item.mtime }
        : {
            kind: 'file',
            name: item.rel,
            mode: item.mode & 0o177777,
            mtime: item.mtime,
            size: item.size,
            path: item.abs,
          },
  );
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      yield* writeZip(inputs, level);
    } catch (error) {
      throw new ArtifactError('LOCAL_IO', `Zipping the output folder failed: ${describe(error)}`, {
        cause: error,
      });
    }
  }
  const stream = Readable.from(guarded(), { objectMode: false, highWaterMark: 1024 * 1024 });
  const files = items.filter((i) => i.kind !== 'dir').length;
  return { stream, files };
}
