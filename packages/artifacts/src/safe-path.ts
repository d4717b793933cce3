import { ArtifactError } from './errors.js';

/**
 * Turns an archive entry name into a clean relative POSIX path ('' for the root), or refuses it.
 * Refusing rather than stripping (what unzip and node-tar do by default) is deliberate: an artifact with
 * such an entry was built wrong or built to attack, and either way the job should stop and say so.
 */
export function normalizeEntryPath(name: string): string {
  if (name.includes('\0')) {
    throw new ArtifactError(
      'UNSAFE_PATH',
      `Entry ${JSON.stringify(name)} contains a NUL byte; rebuild the artifact.`,
      {
        entry: name,
      },
    );
  }
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    throw new ArtifactError(
      'UNSAFE_PATH',
      `Entry "${name}" has an absolute path; artifacts may only contain paths relative to their root. ` +
        'Rebuild the artifact from inside its folder (for example `cd out && zip -r ../a.zip .`).',
      { entry: name },
    );
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new ArtifactError(
        'UNSAFE_PATH',
        `Entry "${name}" contains a ".." segment and could be written outside the destination folder ` +
          '(zip-slip); rebuild the artifact without parent-directory paths.',
        { entry: name },
      );
    }
    parts.push(part);
  }
  return parts.join('/');
}

const MAX_LINK_HOPS = 40;

/**
 * Resolves a symlink target the way the kernel would, following the archive's other symlinks, and returns
 * the resolved path relative to the root, or undefined when any step climbs above the root. A purely
 * lexical check is not enough: `a -> x/y/d/..` looks harmless until `x/y/d -> ../..` turns it into `..`.
 */
export function resolveLinkTarget(
  linkPath: string,
  target: string,
  links: ReadonlyMap<string, string>,
): string | undefined {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return undefined;
  const stack = linkPath.split('/');
  stack.pop();
  let queue = target.split('/');
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    stack.push(part);
    const next = links.get(stack.join('/'));
    if (next !== undefined) {
      if (++hops > MAX_LINK_HOPS || next === '' || next.startsWith('/')) return undefined;
      stack.pop();
      queue = [...next.split('/'), ...queue];
    }
  }
  return stack.join('/');
}

/** Throws unless the symlink's target stays inside the artifact. */
export function assertSafeLink(linkPath: string, target: string, links: ReadonlyMap<string, string>): void {
  if (resolveLinkTarget(linkPath, target, links) === undefined) {
    throw new ArtifactError(
      'UNSAFE_SYMLINK',
      `Symlink "${linkPath}" -> "${target}" points outside the artifact; only links to paths inside the ` +
        'artifact are kept. Replace it with a relative link inside the folder, or with a copy of the file.',
      { entry: linkPath },
    );
  }
}

/** The first proper ancestor of `path` (or `path` itself when `self`) that is a known symlink. */
export function symlinkAncestor(
  path: string,
  links: { has(path: string): boolean },
  self = false,
): string | undefined {
  let end = path.indexOf('/');
  while (end !== -1) {
    const prefix = path.slice(0, end);
    if (links.has(prefix)) return prefix;
    end = path.indexOf('/', end + 1);
  }
  return self && links.has(path) ? path : undefined;
}

export function throughSymlinkError(entry: string, link: string): ArtifactError {
  return new ArtifactError(
    'UNSAFE_SYMLINK',
    `Entry "${entry}" would be written through the symlink "${link}" from the same artifact; writing ` +
      'through links is refused because it can reach outside the destination. Store the real folder instead.',
    { entry },
  );
}
