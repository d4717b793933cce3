import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactError, describe } from './errors.js';
import { resolveLinkTarget } from './safe-path.js';
import { writeZip, type ZipInput } from './zip-writer.js';

const S_IFLNK = 0o120000;

/**
 * Lists a folder depth first with names sorted by code unit, so the same tree always zips the same order.
 * One small object per entry (no Stats kept, paths rebuilt from the root when read): on 20,000 files the
 * listing is otherwise what dominates the heap.
 */
async function walk(root: string): Promise<ZipInput[]> {
  const items: ZipInput[] = [];
  const visit = async (dirRel: string): Promise<void> => {
    const names = (await fs.readdir(dirRel === '' ? root : join(root, dirRel))).sort();
    // lstat a folder's entries together: one pool round trip per file, in sequence, dominates on many files.
    const stats = await Promise.all(
      names.map((name) => fs.lstat(join(root, dirRel === '' ? name : `${dirRel}/${name}`))),
    );
    for (const [index, name] of names.entries()) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const stat = stats[index]!;
      const mtime = stat.mtimeMs;
      if (stat.isSymbolicLink()) {
        const target = await fs.readlink(join(root, rel));
        items.push({ kind: 'symlink', name: rel, mode: S_IFLNK | (stat.mode & 0o777), mtime, target });
      } else if (stat.isDirectory()) {
        items.push({ kind: 'dir', name: rel, mode: stat.mode & 0o177777, mtime });
        await visit(rel);
      } else if (stat.isFile()) {
        items.push({ kind: 'file', name: rel, mode: stat.mode & 0o177777, mtime, size: stat.size });
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
  const links = new Map<string, string>();
  for (const item of items) if (item.kind === 'symlink') links.set(item.name, item.target);
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
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      yield* writeZip(sourceDir, items, level);
    } catch (error) {
      throw new ArtifactError('LOCAL_IO', `Zipping the output folder failed: ${describe(error)}`, {
        cause: error,
      });
    }
  }
  const stream = Readable.from(guarded(), { objectMode: false, highWaterMark: 1024 * 1024 });
  const files = items.filter((i) => i.kind !== 'dir').length;
  let estimatedBytes = 22;
  for (const item of items) {
    estimatedBytes +=
      2 * (Buffer.byteLength(item.name) + 70) + (item.kind === 'file' ? item.size * 1.001 + 5 : 0);
  }
  return { stream, files, estimatedBytes };
}
