import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { ArtifactError, abortError, describe } from './errors.js';
import { type Budget, RATIO_GRACE_BYTES } from './limits.js';
import { assertSafeLink, normalizeEntryPath, symlinkAncestor, throughSymlinkError } from './safe-path.js';
import { CREATE_FLAGS, fileMode, needsChmod, type TreeWriter } from './tree-writer.js';
import { type ZipBody, ZipReader } from './zip-spool.js';
import { type SmallFileFailure, SmallFileWorkers } from './zip-workers.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET = 4096;
/** Files written at once on the main thread: enough to keep the libuv pool busy, few enough to bound memory. */
const CONCURRENCY = 8;
/** Entries up to this size are inflated in one piece and written with synchronous calls (see TreeWriter). */
const SMALL_ENTRY = 1024 * 1024;
/**
 * From this many small files on, they are extracted by worker threads (zip-workers.ts); below, starting a
 * thread costs more than it saves and the main thread does it all.
 */
const WORKER_MIN_FILES = 128;
/**
 * Threads for a big zip: one per core beside the main thread's (which downloads, parses, checks and takes
 * a share of the batches), at most two.
 */
const WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1));

/** A directory record as planned: its checked path and kind, and the numbers extraction needs. */
interface Planned {
  /** Position in the central directory. */
  index: number;
  rel: string;
  kind: Kind;
  mode: number | undefined;
  offset: number;
  compressedSize: number;
  size: number;
  crc32: number;
  deflated: boolean;
}

type Kind = 'file' | 'dir' | 'symlink';
const KINDS: readonly (Kind | undefined)[] = [undefined, 'file', 'dir', 'symlink'];
/**
 * Numbers per record in a Plan: kind (an index in KINDS, 0 for skipped), mode (-1: none), offset, sizes,
 * CRC, compression method.
 */
const FIELDS = 7;

/**
 * What is kept of the directory: per record its path and seven numbers in one Float64Array, not yauzl's
 * Entry (about 1 KiB each with its name and extra-field buffers) nor an object per record. A 100,000-entry
 * directory takes a few megabytes, and as little of it is made of small objects, reading it does not make
 * V8's young generation grow to its maximum (tens of megabytes of RSS). Records are known by their
 * position; the root folder and a path's earlier duplicates are skipped.
 */
class Plan {
  readonly #nums: Float64Array;
  readonly #rels: (string | undefined)[];
  readonly #byPath = new Map<string, number>();
  /** Symlinks' records, kept to read their targets before anything is written. */
  readonly linkEntries = new Map<number, yauzl.Entry>();

  constructor(readonly records: number) {
    this.#nums = new Float64Array(records * FIELDS);
    this.#rels = new Array(records);
  }

  add(item: Planned, entry: yauzl.Entry): void {
    const i = item.index;
    if (i >= this.records) throw corrupt('The zip directory holds more records than it declares');
    if (item.rel === '') return;
    // A later duplicate replaces an earlier one, as `unzip -o` would; planning dedupes so writes never race.
    const earlier = this.#byPath.get(item.rel);
    if (earlier !== undefined) {
      this.#nums[earlier * FIELDS] = 0;
      this.#rels[earlier] = undefined;
      this.linkEntries.delete(earlier);
    }
    this.#byPath.set(item.rel, i);
    this.#rels[i] = item.rel;
    const at = i * FIELDS;
    this.#nums[at] = KINDS.indexOf(item.kind);
    this.#nums[at + 1] = item.mode ?? -1;
    this.#nums[at + 2] = item.offset;
    this.#nums[at + 3] = item.compressedSize;
    this.#nums[at + 4] = item.size;
    this.#nums[at + 5] = item.crc32;
    this.#nums[at + 6] = item.deflated ? 8 : 0;
    if (item.kind === 'symlink') this.linkEntries.set(i, entry);
  }

  /** Pass 1 is over: the path index is not needed any more. */
  done(): void {
    this.#byPath.clear();
  }

  kind(i: number): Kind | undefined {
    return KINDS[this.#nums[i * FIELDS]!];
  }

  offset(i: number): number {
    return this.#nums[i * FIELDS + 2]!;
  }

  /** The record at position i as an object (made anew, for a short while), or undefined when skipped. */
  item(i: number): Planned | undefined {
    const at = i * FIELDS;
    const kind = KINDS[this.#nums[at]!];
    if (kind === undefined) return undefined;
    const mode = this.#nums[at + 1]!;
    return {
      index: i,
      rel: this.#rels[i]!,
      kind,
      mode: mode < 0 ? undefined : mode,
      offset: this.#nums[at + 2]!,
      compressedSize: this.#nums[at + 3]!,
      size: this.#nums[at + 4]!,
      crc32: this.#nums[at + 5]!,
      deflated: this.#nums[at + 6] === 8,
    };
  }

  *items(): Generator<Planned> {
    for (let i = 0; i < this.records; i++) {
      const item = this.item(i);
      if (item) yield item;
    }
  }
}

function corrupt(message: string, cause?: unknown, entry?: string): ArtifactError {
  return new ArtifactError(
    'CORRUPT_ARCHIVE',
    `${message}${cause === undefined ? '' : `: ${describe(cause)}`}. The artifact is not a valid zip; ` +
      'rebuild and upload it again.',
    { cause, ...(entry === undefined ? {} : { entry }) },
  );
}

async function open(reader: ZipReader, size: number): Promise<yauzl.ZipFile> {
  try {
    // The central directory is authoritative: yauzl reads it first and opens each entry at the offset it
    // gives. decodeStrings: false so that names reach our own checks (safe-path.ts, which refuse rather
    // than strip and name the entry) instead of yauzl's terse errors; strictFileNames only applies to
    // decoded names, so it stays off and getFileNameLowLevel below turns a backslash into `/` before the checks.
    // validateEntrySizes makes an entry that inflates to more or fewer bytes than declared an error.
    return await yauzl.fromRandomAccessReaderPromise(reader, size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw corrupt('Cannot read the zip directory', error);
  }
}

/** The central directory's records in order (yauzl's documented iterator), errors named as ours. */
async function* directory(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  const entries = zip.eachEntry();
  for (;;) {
    let next: IteratorResult<yauzl.Entry>;
    try {
      next = await entries.next();
    } catch (error) {
      if (error instanceof ArtifactError) throw error;
      throw corrupt('Cannot read the zip directory', error);
    }
    if (next.done) return;
    yield next.value;
  }
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, rel: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) =>
      error
        ? reject(error instanceof ArtifactError ? error : corrupt(`Cannot read entry "${rel}"`, error, rel))
        : resolve(stream),
    );
  });
}

const LOCAL_HEADER = 30;
const LOCAL_SIGNATURE = 0x04034b50;

/**
 * Where an entry's data starts: after its local header, whose name and extra field may differ in length
 * from the directory's. This is what yauzl's readLocalFileHeader({ minimal: true }) reads (signature,
 * lengths, bounds), done here on the numbers kept from the directory instead of on yauzl's Entry objects,
 * which are not kept (see Plan); the data is then read through yauzl's openReadStreamLowLevel, which
 * takes exactly these numbers, or by the workers, and checked against the directory's sizes and CRC-32.
 */
async function dataStart(body: ZipBody, item: Planned, size: number): Promise<number> {
  const arrived = body.waitFor(item.offset + LOCAL_HEADER);
  if (arrived) await arrived;
  const header = Buffer.allocUnsafe(LOCAL_HEADER);
  body.read(header, 0, item.offset, LOCAL_HEADER);
  if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) {
    throw corrupt(`Entry "${item.rel}" has no local header where the directory says`, undefined, item.rel);
  }
  const start = item.offset + LOCAL_HEADER + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + item.compressedSize > size) {
    throw corrupt(`Entry "${item.rel}" runs past the end of the zip`, undefined, item.rel);
  }
  return start;
}

/** An entry's data, inflated and checked for its declared size by yauzl (validateEntrySizes). */
function openData(zip: yauzl.ZipFile, item: Planned, start: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStreamLowLevel(
      start,
      item.compressedSize,
      0,
      item.compressedSize,
      item.deflated,
      item.size,
      (error, stream) =>
        error
          ? reject(
              error instanceof ArtifactError
                ? error
                : corrupt(`Cannot read entry "${item.rel}"`, error, item.rel),
            )
          : resolve(stream),
    );
  });
}

function planEntry(entry: yauzl.Entry, index: number): Planned {
  const name = yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    entry.fileNameRaw,
    entry.extraFields,
    false,
  );
  const rel = normalizeEntryPath(name);
  const unix = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalFileAttributes >>> 16 : 0;
  const type = unix & S_IFMT;
  const mode = unix === 0 ? undefined : unix & 0o7777;
  const item: Planned = {
    index,
    rel,
    kind: 'file',
    mode,
    offset: entry.relativeOffsetOfLocalHeader,
    compressedSize: entry.compressedSize,
    size: entry.uncompressedSize,
    crc32: entry.crc32,
    deflated: entry.compressionMethod === 8,
  };
  if (type === S_IFLNK) {
    item.kind = 'symlink';
  } else if (type === S_IFDIR || name.endsWith('/') || (entry.externalFileAttributes & 0x10) !== 0) {
    item.kind = 'dir';
  } else if (type !== 0 && type !== S_IFREG) {
    throw new ArtifactError(
      'UNSUPPORTED_ENTRY',
      `Entry "${rel}" is a device, fifo or socket (mode ${type.toString(8)}); artifacts may only hold ` +
        'files, folders and symlinks.',
      { entry: rel },
    );
  }
  return item;
}

/** Pass 1's checks of one record: nothing in it may be refused later. */
function check(entry: yauzl.Entry, item: Planned, budget: Budget): void {
  if (entry.isEncrypted()) {
    throw new ArtifactError(
      'UNSUPPORTED_ENTRY',
      `Entry "${item.rel}" is encrypted; pipewright cannot read it.`,
      {
        entry: item.rel,
      },
    );
  }
  if (!entry.canDecodeFileData()) {
    throw new ArtifactError(
      'UNSUPPORTED_ENTRY',
      `Entry "${item.rel}" uses compression method ${entry.compressionMethod}; only stored and ` +
        'deflate are supported. Rebuild the artifact with a standard zip tool.',
      { entry: item.rel },
    );
  }
  budget.checkRatio(entry.uncompressedSize, entry.compressedSize, `Entry "${item.rel}"`, item.rel);
  if (item.kind === 'symlink' && entry.uncompressedSize > MAX_LINK_TARGET) {
    throw corrupt(`Symlink "${item.rel}" has a ${entry.uncompressedSize}-byte target`, undefined, item.rel);
  }
}

export interface ExtractOptions {
  budget: Budget;
  signal?: AbortSignal | undefined;
}

/**
 * Extracts a zip into the writer's root while it downloads.
 *
 * Pass 1 reads the central directory and checks every name, kind, size and ratio before anything is
 * written. When the directory can be read ahead of the body (ranged GETs, see ZipReader), the body is not
 * consumed until then, and the checks decide how it is: into a memory window when entries can be extracted
 * as they stream past, else into the spool (see ZipBody). Then every symlink target is read and checked.
 * Pass 2 goes through the plan kept from pass 1 and extracts each entry as soon as the body has its bytes.
 * Entries come in directory order, which is normally the order of their data, so extraction follows the
 * download; a zip whose directory is in another order is extracted all the same, from the spool, later.
 */
export async function extractZip(body: ZipBody, writer: TreeWriter, opts: ExtractOptions): Promise<void> {
  const { budget, signal } = opts;
  let size = body.size;
  if (size === undefined) {
    // A stream of unknown length: spooled whole first.
    await body.startSpool();
    await body.finished();
    size = body.length;
  } else if (!body.canReadAhead) {
    await body.startSpool();
  }
  const reader = new ZipReader(body);

  const zip = await open(reader, size);
  try {
    const plan = await readPlan(zip, body, reader, size, budget);
    // Symlink targets are data, not directory: they are read (waiting for the body) before any write.
    const links = new Map<string, string>();
    for (const [i, entry] of plan.linkEntries) {
      const item = plan.item(i)!;
      links.set(item.rel, await readLink(zip, entry, item));
    }
    plan.linkEntries.clear();
    // With the whole directory known, links and paths through links are judged up front, whatever the order.
    for (const item of plan.items()) {
      const through = symlinkAncestor(item.rel, links);
      if (through !== undefined) throw throughSymlinkError(item.rel, through);
    }
    for (const [rel, target] of links) assertSafeLink(rel, target, links);

    // Pass 2: folders, then files in directory order, then links and folder modes (writer.finish).
    let small = 0;
    for (const item of plan.items()) {
      if (item.kind === 'dir') await writer.dir(item.rel, item.mode);
      else if (item.kind === 'symlink') writer.symlink(item.rel, links.get(item.rel)!);
      else if (isSmall(item)) small++;
    }
    const files = { zip, body, plan, size, writer, budget, signal };
    if (small >= WORKER_MIN_FILES) await writeWithWorkers(files);
    else await writeHere(files);
  } finally {
    zip.close();
  }
  await writer.finish();
}

/**
 * Pass 1: reads the whole directory and validates every declared name, kind and size before anything
 * touches the disk; then, if the body is still pending, decides how it is consumed.
 */
async function readPlan(
  zip: yauzl.ZipFile,
  body: ZipBody,
  reader: ZipReader,
  size: number,
  budget: Budget,
): Promise<Plan> {
  if (zip.entryCount > budget.limits.maxEntries) {
    throw new ArtifactError(
      'LIMIT_EXCEEDED',
      `The zip declares ${zip.entryCount} entries, more entries than limits.maxEntries ` +
        `(${budget.limits.maxEntries}). Raise the limit if this is expected, or ship fewer, larger files.`,
    );
  }
  const plan = new Plan(zip.entryCount);
  let declared = 0;
  let index = 0;
  for await (const entry of directory(zip)) {
    const item = planEntry(entry, index++);
    budget.addEntry(item.rel || '/');
    check(entry, item, budget);
    declared += entry.uncompressedSize;
    if (declared > budget.limits.maxBytes) throw budget.sizeError(item.rel);
    plan.add(item, entry);
  }
  plan.done();
  budget.checkRatio(declared, size, 'The zip');
  // The directory is read and planned: what was fetched of it can go, and bytes now come from the body.
  reader.stopFetching();

  // Entries sharing bytes are how "overlapping" zip bombs multiply a small kernel; no tool writes them.
  const withData: number[] = [];
  for (let i = 0; i < plan.records; i++) {
    const kind = plan.kind(i);
    if (kind === 'file' || kind === 'symlink') withData.push(i);
  }
  withData.sort((a, b) => plan.offset(a) - plan.offset(b));
  for (let k = 1; k < withData.length; k++) {
    const [before, item] = [plan.item(withData[k - 1]!)!, plan.item(withData[k]!)!];
    if (item.offset < before.offset + LOCAL_HEADER + before.compressedSize) {
      throw corrupt(`Entry "${item.rel}" overlaps entry "${before.rel}"`, undefined, item.rel);
    }
  }
  if (body.mode === 'pending') {
    // Streaming needs every read to move forward: files in the order of their data (in the directory's
    // order, which pass 2 follows), and no symlink target to read before them.
    let at = -1;
    let forward = plan.linkEntries.size === 0;
    for (let i = 0; forward && i < plan.records; i++) {
      if (plan.kind(i) !== 'file') continue;
      if (plan.offset(i) < at) forward = false;
      at = plan.offset(i);
    }
    if (forward) body.startWindow();
    else await body.startSpool();
  }
  return plan;
}

const isSmall = (item: Planned) => item.size <= SMALL_ENTRY && item.compressedSize <= SMALL_ENTRY;

/** What pass 2 works with. */
interface Files {
  zip: yauzl.ZipFile;
  body: ZipBody;
  plan: Plan;
  size: number;
  writer: TreeWriter;
  budget: Budget;
  signal: AbortSignal | undefined;
}

/** The planned files, in directory order. */
function* plannedFiles(plan: Plan, signal: AbortSignal | undefined): Generator<Planned> {
  for (let i = 0; i < plan.records; i++) {
    if (signal?.aborted) throw abortError(signal);
    if (plan.kind(i) === 'file') yield plan.item(i)!;
  }
}

async function readLink(zip: yauzl.ZipFile, entry: yauzl.Entry, item: Planned): Promise<string> {
  const stream = await openEntry(zip, entry, item.rel);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw corrupt(`Symlink "${item.rel}" is damaged`, error, item.rel);
  }
  const target = Buffer.concat(chunks);
  if (crc32(target) !== item.crc32) {
    throw corrupt(`Symlink "${item.rel}" fails its CRC-32 check`, undefined, item.rel);
  }
  return target.toString('utf8');
}

/**
 * Every file on the main thread (a zip with few small files, where a thread would not pay off): a few at
 * a time from the spool, one after the other from the window (which only moves forward).
 */
async function writeHere(files: Files): Promise<void> {
  const { body, plan, signal } = files;
  const concurrency = body.mode === 'window' ? 1 : CONCURRENCY;
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for (const item of plannedFiles(plan, signal)) {
      if (failure) break;
      body.release(item.offset);
      const done: Promise<void> = writeEntry(files, item).then(
        () => void running.delete(done),
        (error: unknown) => {
          failure ??= { error };
          running.delete(done);
        },
      );
      running.add(done);
      if (running.size >= concurrency) await Promise.race(running);
    }
  } finally {
    // The first failure stops the loop, and every write settles before the zip is closed.
    await Promise.all(running);
  }
  if (failure) throw failure.error;
}

/**
 * Small files go to worker threads as soon as the body has them: this thread reads each local header,
 * waits for the entry's bytes, checks its path and creates its folder (TreeWriter.reserve), and copies
 * the compressed bytes into the batch for a worker, which inflates, checks the size and CRC-32, and
 * writes. Large files stream here, as in writeHere, one at a time.
 */
async function writeWithWorkers(files: Files): Promise<void> {
  const { body, plan, size, writer, budget, signal } = files;
  let failure: { error: unknown } | undefined;
  const onFailure = (f: SmallFileFailure) => {
    const { rel } = plan.item(f.id)!;
    failure ??= {
      error:
        f.kind === 'corrupt'
          ? corrupt(`Entry "${rel}" ${f.message}`, undefined, rel)
          : f.kind === 'symlink'
            ? writer.existingSymlink(rel)
            : f.kind === 'conflict'
              ? writer.conflict(rel)
              : new ArtifactError('LOCAL_IO', `Cannot write "${rel}" into the destination: ${f.message}`, {
                  entry: rel,
                }),
    };
  };
  const workers = new SmallFileWorkers(
    CREATE_FLAGS,
    WORKERS,
    (count, bytes) => {
      writer.wrote(count);
      budget.addBytes(bytes, '(small files)');
    },
    onFailure,
  );
  try {
    for (const item of plannedFiles(plan, signal)) {
      if (failure) break;
      body.release(item.offset);
      if (!isSmall(item)) {
        await writeEntry(files, item);
        continue;
      }
      const start = await dataStart(body, item, size);
      const end = start + item.compressedSize;
      const arrived = body.waitFor(end);
      if (arrived) await arrived;
      const path = await writer.reserve(item.rel);
      const mode = fileMode(item.mode);
      const queued = workers.submit(
        {
          id: item.index,
          path,
          compressedSize: item.compressedSize,
          size: item.size,
          deflated: item.deflated,
          crc32: item.crc32,
          mode,
          chmod: needsChmod(mode),
        },
        (target, at) => body.read(target, at, start, item.compressedSize),
      );
      if (queued) await queued;
      body.release(end);
    }
    if (!failure) await workers.drain();
  } finally {
    await workers.close();
  }
  if (failure) throw failure.error;
}

async function writeEntry(files: Files, item: Planned): Promise<void> {
  const { zip, body, size, writer, budget } = files;
  const { rel } = item;
  const entry = { uncompressedSize: item.size, compressedSize: item.compressedSize, crc32: item.crc32 };
  if (entry.uncompressedSize === 0 && entry.compressedSize === 0) {
    await writer.smallFile(rel, item.mode, Buffer.alloc(0));
    return;
  }
  const stream = await openData(zip, item, await dataStart(body, item, size));
  const small = entry.uncompressedSize <= SMALL_ENTRY;
  const chunks: Buffer[] = [];
  let written = 0;
  let crc = 0;
  const take = async (chunk: Buffer, write?: (chunk: Buffer) => Promise<unknown>) => {
    written += chunk.length;
    // Count what inflating really produces: the declared sizes were checked, this catches a liar early
    // (yauzl's validateEntrySizes would only say so at the end of the entry).
    budget.addBytes(chunk.length, rel);
    if (written > entry.uncompressedSize) {
      throw corrupt(`Entry "${rel}" inflates past its declared size`, undefined, rel);
    }
    if (written > RATIO_GRACE_BYTES) budget.checkRatio(written, entry.compressedSize, `Entry "${rel}"`, rel);
    crc = crc32(chunk, crc);
    if (write) await write(chunk);
    else chunks.push(chunk);
  };
  const pump = async (write?: (chunk: Buffer) => Promise<unknown>) => {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) await take(chunk, write);
      // yauzl checks sizes but not checksums; a flipped bit in a stored entry would otherwise go unnoticed.
      if (crc !== entry.crc32) throw corrupt(`Entry "${rel}" fails its CRC-32 check`, undefined, rel);
    } catch (error) {
      stream.destroy();
      if (error instanceof ArtifactError) throw error;
      if ((error as { syscall?: string }).syscall === 'write') {
        throw new ArtifactError('LOCAL_IO', `Cannot write "${rel}": ${describe(error)}`, {
          cause: error,
          entry: rel,
        });
      }
      throw corrupt(`Entry "${rel}" is damaged`, error, rel);
    }
  };
  if (small) {
    // Small entries are inflated into memory (at most SMALL_ENTRY) and written with synchronous calls.
    await pump();
    await writer.smallFile(rel, item.mode, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  } else {
    await writer.file(rel, item.mode, (fh) => pump((chunk) => fh.write(chunk)));
  }
}
