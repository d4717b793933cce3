import type { AnyPlugin } from '@pipewright/core';
import { jsonSchema } from '@pipewright/plugin-json-schema';
import { s3Backup } from '@pipewright/plugin-s3-backup';

/** The plugins the Lambda bundle carries, in the order they run at a shared action point. */
export const bundledPlugins: readonly AnyPlugin[] = [jsonSchema, s3Backup];

/** `@pipewright/plugin-s3-backup`, `plugin-s3-backup`, `s3-backup` and the extension name all name one plugin. */
function namesOf(plugin: AnyPlugin): string[] {
  const short = plugin.name.replace(/^@pipewright\/(plugin-)?/, '');
  return [plugin.name, plugin.name.replace(/^@[^/]+\//, ''), short, plugin.extension?.name ?? ''].filter(
    Boolean,
  );
}

/**
 * Picks plugins by name, in the order given (`json-schema,s3-backup`). An empty or missing list means all of
 * `available`. An unknown name throws, listing the known ones: a misconfigured function must not start.
 */
export function selectPlugins(
  list: string | undefined,
  available: readonly AnyPlugin[] = bundledPlugins,
  /** Where the list came from, for the error message. */
  source = 'PIPEWRIGHT_PLUGINS',
): AnyPlugin[] {
  const names = (list ?? '')
    .split(/[\s,]+/)
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) return [...available];
  return names.map((name) => {
    const found = available.find((p) => namesOf(p).includes(name));
    if (!found) {
      throw new Error(
        `${source} names ${JSON.stringify(name)}, which this bundle does not carry; known: ${available
          .map((p) => namesOf(p)[2])
          .join(', ')}`,
      );
    }
    return found;
  });
}

/** Short name of a plugin (`s3-backup`), as PIPEWRIGHT_PLUGINS and the template use it. */
export function shortName(plugin: AnyPlugin): string {
  return namesOf(plugin)[2]!;
}
