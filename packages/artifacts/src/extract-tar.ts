import { Parser, type ReadEntry } from 'tar';
import { ArtifactError, abortError, describe } from './errors.js';
import type { Budget } from './limits.js';
import { normalizeEntryPath } from './safe-path.js';
import type { TreeWriter } from './tree-writer.js';

function corrupt(message: string, cause?: unknown): ArtifactError {
  return new ArtifactError(
    'CORRUPT_ARCHIVE',
    `${message}${cause === undefined ? '' : `: ${describe(cause)}`}. The artifact is not a valid tar or ` +
      'tar.gz; rebuild and upload it again.',
    cause === undefined ? undefined : { cause },
  );
}

const SMALL_FILE = 1024 * 1024;

export interface TarExtractOptions {
  budget: Budget;
  signal?: AbortSignal | undefined;
  /** Whether the stream is gzip: then the whole-archive compression ratio is watched while inflating. */
  gzip: boolean;
}

/**
 * Streams a tar or tar.gz straight from the source into the writer: there is no directory to read first,
 * so every rule is applied entry by entry, in archive order, and the byte budget is counted as data flows.
 * node-tar is used only as a parser (with strict: true so damage is an error, not a skipped entry); the
 * writing goes through the same TreeWriter as zip, so both formats follow one set of safety rules.
 */
export async function extractTar(
  source: AsyncIterable<Buffer>,
  writer: TreeWriter,
  opts: TarExtractOptions,
): Promise<void> {
  const { budget, signal } = opts;
  let failure: unknown;
  let compressed = 0;
  let chain = Promise.resolve();
  let onFailure = () => {};
  const failed = new Promise<void>((resolve) => (onFailure = resolve));
  let current: ReadEntry | undefined;
  const fail = (error: unknown) => {
    failure ??= error;
    onFailure();
    // An entry cut short by a parser error never ends by itself; end its reader so the writer lets go.
    if (current && !current.emittedEnd && current.listenerCount('error') > 0) current.emit('error', failure);
  };
  const parser = new Parser({
    strict: true,
    // Our own ratio check (per limits.maxRatio, with a grace size) runs instead of node-tar's.
    maxDecompressionRatio: Number.MAX_SAFE_INTEGER,
    onReadEntry: (entry: ReadEntry) => {
      chain = chain
        .then(() => {
          current = entry;
          return failure === undefined ? handle(entry) : undefined;
        })
        .catch(fail)
        .finally(() => {
          // A refused or failed entry is drained so the parser can reach the end (or the next error).
          if (!entry.emittedEnd) entry.resume();
        });
    },
  });
  parser.on('error', (error: unknown) => {
    fail(corrupt('Cannot read the archive', error));
  });
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));

  const handle = async (entry: ReadEntry) => {
    if (signal?.aborted) throw abortError(signal);
    const rel = normalizeEntryPath(entry.path);
    budget.addEntry(rel || '/');
    switch (entry.type) {
      case 'Directory':
      case 'GNUDumpDir':
        await writer.dir(rel, entry.mode);
        return;
      case 'SymbolicLink':
        writer.symlink(rel, entry.linkpath ?? '');
        return;
      case 'Link':
        await writer.hardlink(rel, normalizeEntryPath(entry.linkpath ?? ''));
        return;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        if (rel === '') throw corrupt('A file entry has an empty path');
        if ((entry.size ?? 0) <= SMALL_FILE) {
          // Small files are gathered (at most SMALL_FILE) and written with synchronous calls, as for zip.
          const chunks: Buffer[] = [];
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            budget.addBytes(chunk.length, rel);
            if (opts.gzip) budget.checkRatio(budget.bytes, compressed, 'The tar.gz', rel);
            chunks.push(chunk);
          }
          await writer.smallFile(rel, entry.mode, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
          return;
        }
        await writer.file(rel, entry.mode, async (fh) => {
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            budget.addBytes(chunk.length, rel);
            if (opts.gzip) budget.checkRatio(budget.bytes, compressed, 'The tar.gz', rel);
            await fh.write(chunk);
          }
        });
        return;
      default:
        throw new ArtifactError(
          'UNSUPPORTED_ENTRY',
          `Entry "${rel}" is a ${entry.type} entry; artifacts may only hold files, folders and links.`,
          { entry: rel },
        );
    }
  };

  for await (const chunk of source) {
    if (failure !== undefined) break;
    compressed += chunk.length;
    if (!parser.write(chunk)) {
      // Backpressure: wait until the entry being written drains (or something failed).
      await Promise.race([new Promise<void>((resolve) => parser.once('drain', resolve)), failed]);
    }
  }
  if (failure === undefined) {
    parser.end();
    await Promise.race([ended, failed]);
    await Promise.race([chain, failed]);
  }
  if (failure !== undefined) throw failure;
  await writer.finish();
}
