import { createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';

/**
 * Zips a folder as a CodePipeline source artifact, keeping what deploy tools need: unix permission bits in
 * the external attributes, and symlinks as symlink entries (S_IFLNK mode, the link target as content)
 * rather than the files they point to. Entries are sorted so the same tree gives the same listing.
 */
export async function zipFolder(folder: string, target: string): Promise<void> {
  const zip = new yazl.ZipFile();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = (await readdir(dir)).sort();
    for (const name of entries) {
      const full = join(dir, name);
      const rel = prefix + name;
      const st = await lstat(full);
      if (st.isSymbolicLink()) {
        zip.addBuffer(Buffer.from(await readlink(full)), rel, {
          mode: 0o120000 | (st.mode & 0o777),
          mtime: st.mtime,
        });
      } else if (st.isDirectory()) {
        zip.addEmptyDirectory(`${rel}/`, { mode: st.mode, mtime: st.mtime });
        await walk(full, `${rel}/`);
      } else if (st.isFile()) {
        zip.addFile(full, rel, { mode: st.mode, mtime: st.mtime });
      }
    }
  };
  await walk(folder, '');
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(target));
}
