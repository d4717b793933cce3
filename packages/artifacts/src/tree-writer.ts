import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  promises as fs,
  lstatSync,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError, describe } from './errors.js';
import { assertSafeLink, symlinkAncestor, throughSymlinkError } from './safe-path.js';

/** How every file is created: never over an existing entry, never through a symlink at the last component. */
export const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

// Bits the process umask would strip from a new file; when none, the explicit chmod can be skipped.
const UMASK = (() => {
  try {
    return process.umask();
  } catch {
    return 0o777; // worker threads cannot read it: assume the worst and always chmod
  }
})();

/** Regular files keep rwx bits only: setuid/setgid/sticky from an archive are never honoured. */
export const fileMode = (mode: number | undefined) => (mode === undefined ? 0o644 : mode & 0o777);
/** Folders keep rwx (and the harmless sticky bit), never setuid/setgid. */
export const dirMode = (mode: number | undefined) => (mode === undefined ? 0o755 : mode & 0o1777);
/** Whether a file created with `mode` needs an explicit chmod, because the umask strips some of its bits. */
export const needsChmod = (mode: number) => (mode & UMASK) !== 0;

function code(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/**
 * Writes an archive's entries below one root and is the single place that touches the destination, so
 * the safety rules hold for every format:
 * - entry paths arrive already normalized (see safe-path.ts); folders are created one level at a time and
 *   an existing symlink in the way is refused rather than followed;
 * - files are created with O_EXCL|O_NOFOLLOW, so a symlink at the final component is never written through;
 * - symlinks are created last, after every file, and each must resolve inside the root given all the
 *   others; an entry whose path runs through a symlink of the same archive is refused;
 * - folder permissions are applied last, so a read-only folder does not block its own contents.
 */
export class TreeWriter {
  readonly #root: string;
  /** Folders made or found (checked) so far. */
  readonly #dirs = new Set<string>(['']);
  /** Folders this writer created, with mkdir's mode: their final chmod can be skipped when it changes nothing. */
  readonly #created = new Set<string>();
  readonly #files = new Set<string>();
  readonly #links = new Map<string, string>();
  readonly #dirModes = new Map<string, number>();
  files = 0;

  constructor(root: string) {
    this.#root = root;
  }

  async init(): Promise<void> {
    try {
      await fs.mkdir(this.#root, { recursive: true });
    } catch (error) {
      throw new ArtifactError('LOCAL_IO', `Cannot create the destination folder: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  /** A folder entry; its mode is applied at the end. */
  async dir(rel: string, mode?: number): Promise<void> {
    if (rel === '') return;
    // A later entry of another kind replaces a pending (not yet created) link, as tar would.
    this.#links.delete(rel);
    if (this.#files.has(rel)) throw this.#conflict(rel);
    await this.#ensureDir(rel);
    this.#dirModes.set(rel, dirMode(mode));
  }

  /** A regular file; `write` receives the open handle and must write the whole content. */
  async file(rel: string, mode: number | undefined, write: (fh: FileHandle) => Promise<void>): Promise<void> {
    const fh = await this.#create(rel, fileMode(mode));
    try {
      await write(fh);
      if ((fileMode(mode) & UMASK) !== 0) await fh.chmod(fileMode(mode));
    } finally {
      await fh.close();
    }
    this.#files.add(rel);
    this.files++;
  }

  /**
   * A small regular file written with synchronous calls: open, write, close straight from this thread.
   * Only the folder check is asynchronous (and cached). Same rules as file().
   */
  async smallFile(rel: string, mode: number | undefined, data: Buffer): Promise<void> {
    const abs = await this.reserve(rel);
    const m = fileMode(mode);
    let fd: number;
    try {
      fd = openSync(abs, CREATE_FLAGS, m);
    } catch (error) {
      if (code(error) !== 'EEXIST' && code(error) !== 'ELOOP') throw this.#io(rel, error);
      await this.#replaceable(rel, abs);
      try {
        fd = openSync(abs, CREATE_FLAGS, m);
      } catch (again) {
        throw this.#io(rel, again);
      }
    }
    try {
      let at = 0;
      while (at < data.length) at += writeSync(fd, data, at, data.length - at);
      if ((m & UMASK) !== 0) fchmodSync(fd, m);
    } catch (error) {
      throw this.#io(rel, error);
    } finally {
      closeSync(fd);
    }
    this.files++;
  }

  /**
   * Checks a regular file's path and creates its folder, for a caller that creates the file itself (a zip
   * extraction thread): returns the absolute path, to be opened with CREATE_FLAGS; call wrote() once it is
   * written. If something is already there, the caller follows replaceable()'s rule: a symlink is refused
   * (existingSymlink()), a folder too (conflict()), a file is replaced.
   */
  async reserve(rel: string): Promise<string> {
    this.#checkPath(rel);
    this.#links.delete(rel);
    if (this.#dirs.has(rel)) throw this.#conflict(rel);
    // Known as a file from now on, so a later entry cannot make it a folder while it is being written.
    this.#files.add(rel);
    await this.#ensureDir(parentOf(rel));
    return join(this.#root, rel);
  }

  /** Counts files written by the caller of reserve(). */
  wrote(files: number): void {
    this.files += files;
  }

  /** A symlink entry: validated and created in finish(), once every other entry is on disk. */
  symlink(rel: string, target: string): void {
    this.#checkPath(rel);
    if (this.#dirs.has(rel)) throw this.#conflict(rel);
    this.#links.set(rel, target);
  }

  /** A tar hard link: only to a regular file this archive already wrote. */
  async hardlink(rel: string, targetRel: string): Promise<void> {
    if (!this.#files.has(targetRel)) {
      throw new ArtifactError(
        'UNSAFE_SYMLINK',
        `Hard link "${rel}" -> "${targetRel}" does not point to a file extracted earlier from the same ` +
          'artifact; only links to earlier files are kept.',
        { entry: rel },
      );
    }
    this.#checkPath(rel);
    await this.#ensureDir(parentOf(rel));
    const abs = join(this.#root, rel);
    try {
      await fs.link(join(this.#root, targetRel), abs);
    } catch (error) {
      if (code(error) !== 'EEXIST') throw this.#io(rel, error);
      await this.#replaceable(rel, abs);
      await fs.link(join(this.#root, targetRel), abs);
    }
    this.#files.add(rel);
    this.files++;
  }

  async finish(): Promise<void> {
    for (const [rel, target] of this.#links) {
      const through = symlinkAncestor(rel, this.#links);
      if (through !== undefined) throw throughSymlinkError(rel, through);
      assertSafeLink(rel, target, this.#links);
    }
    for (const [rel, target] of this.#links) {
      await this.#ensureDir(parentOf(rel));
      try {
        await fs.symlink(target, join(this.#root, rel));
      } catch (error) {
        if (code(error) !== 'EEXIST') throw this.#io(rel, error);
        await this.#replaceable(rel, join(this.#root, rel));
        await fs.symlink(target, join(this.#root, rel));
      }
      this.files++;
    }
    for (const [rel, mode] of this.#dirModes) {
      if (this.#created.has(rel) && mode === (0o755 & ~UMASK)) continue;
      try {
        chmodSync(join(this.#root, rel), mode);
      } catch (error) {
        throw this.#io(rel, error);
      }
    }
  }

  #checkPath(rel: string): void {
    const through = symlinkAncestor(rel, this.#links);
    if (through !== undefined) throw throughSymlinkError(rel, through);
  }

  async #create(rel: string, mode: number): Promise<FileHandle> {
    this.#checkPath(rel);
    this.#links.delete(rel);
    if (this.#dirs.has(rel)) throw this.#conflict(rel);
    await this.#ensureDir(parentOf(rel));
    const abs = join(this.#root, rel);
    try {
      return await fs.open(abs, CREATE_FLAGS, mode);
    } catch (error) {
      if (code(error) !== 'EEXIST' && code(error) !== 'ELOOP') throw this.#io(rel, error);
      await this.#replaceable(rel, abs);
      try {
        return await fs.open(abs, CREATE_FLAGS, mode);
      } catch (again) {
        throw this.#io(rel, again);
      }
    }
  }

  /** Something already sits where an entry goes: a duplicate file is replaced, anything else refused. */
  async #replaceable(rel: string, abs: string): Promise<void> {
    const stat = await fs.lstat(abs);
    if (stat.isSymbolicLink()) throw this.existingSymlink(rel);
    if (stat.isDirectory()) throw this.#conflict(rel);
    await fs.unlink(abs);
  }

  existingSymlink(rel: string): ArtifactError {
    return new ArtifactError(
      'UNSAFE_SYMLINK',
      `Entry "${rel}" would be written through an existing symlink in the destination; refused.`,
      { entry: rel },
    );
  }

  conflict(rel: string): ArtifactError {
    return this.#conflict(rel);
  }

  /**
   * Creates a folder and its parents, one level at a time, with synchronous calls (a mkdir costs less
   * than a trip through libuv's pool); a rejected promise says why not.
   */
  #ensureDir(rel: string): Promise<void> {
    if (this.#dirs.has(rel)) return RESOLVED;
    try {
      this.#makeDir(rel);
      return RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #makeDir(rel: string): void {
    if (this.#dirs.has(rel)) return;
    const through = symlinkAncestor(rel, this.#links, true);
    if (through !== undefined) throw throughSymlinkError(rel, through);
    if (this.#files.has(rel)) throw this.#conflict(rel);
    this.#makeDir(parentOf(rel));
    const abs = join(this.#root, rel);
    try {
      mkdirSync(abs, 0o755);
      this.#created.add(rel);
    } catch (error) {
      if (code(error) !== 'EEXIST') throw this.#io(rel, error);
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(abs);
      } catch (again) {
        throw this.#io(rel, again);
      }
      if (stat.isSymbolicLink()) {
        throw new ArtifactError(
          'UNSAFE_SYMLINK',
          `Folder "${rel}" is an existing symlink in the destination; extracting through it is refused.`,
          { entry: rel },
        );
      }
      if (!stat.isDirectory()) throw this.#conflict(rel);
    }
    this.#dirs.add(rel);
  }

  #conflict(rel: string): ArtifactError {
    return new ArtifactError(
      'CORRUPT_ARCHIVE',
      `Entry "${rel}" is both a file and a folder in this artifact; rebuild it so each path appears once.`,
      { entry: rel },
    );
  }

  #io(rel: string, error: unknown): ArtifactError {
    if (error instanceof ArtifactError) return error;
    return new ArtifactError('LOCAL_IO', `Cannot write "${rel}" into the destination: ${describe(error)}`, {
      cause: error,
      entry: rel,
    });
  }
}

const RESOLVED = Promise.resolve();

export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}
