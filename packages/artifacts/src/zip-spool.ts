import { closeSync, promises as fs, openSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ArtifactError, describe } from './errors.js';

/** Fetches bytes [start, end) of the same object version out of band (a ranged GET for S3). */
export type FetchRange = (start: number, end: number) => Promise<Buffer>;

export interface ZipBodyOptions {
  /** The zip's full size when known before its last byte arrives (S3's Content-Length). */
  size?: number | undefined;
  fetchRange?: FetchRange | undefined;
  /** Stops the body at once (the extraction failed). */
  stop?: (() => void) | undefined;
  /** Where the spool's private folder is created. */
  tmpDir?: string | undefined;
  /** Stops a body far past what any zip within the limits could weigh, before memory or disk fills. */
  maxLength: number;
  tooLarge: () => Error;
}

/**
 * Bytes of the body held in memory ahead of the extraction when entries are extracted as they stream;
 * more only while a read needs more (an entry's header and data, up to about 1.1 MiB).
 */
const WINDOW = 1024 * 1024;
/** A read further than this ahead of the extraction in the window is a bug, never a wait. */
const WINDOW_READ_MAX = 4 * 1024 * 1024;
/** Below this size a zip is simply spooled: reading its directory ahead would cost more than it saves. */
const STREAM_MIN = 4 * 1024 * 1024;
/**
 * Bytes fetched at least by a ranged GET while the directory is read ahead of the body: the first, for the
 * end-of-directory record, takes the zip's last megabyte, which holds the whole directory of most zips.
 */
const FETCH_BLOCK = 1024 * 1024;
/** Bytes fetched at most by one ranged GET: a directory that ends where a fetched block starts comes whole. */
const FETCH_SPAN = 16 * 1024 * 1024;
/**
 * The directory is held in memory while it is read (about 100 bytes per entry); past this, which takes
 * hundreds of thousands of entries or huge names, the rest of it waits for the body.
 */
const FETCH_MAX = 64 * 1024 * 1024;
/** Bytes read at once from the spool for yauzl's small reads (directory records, local headers). */
const READ_BLOCK = 256 * 1024;

function spoolError(error: unknown): ArtifactError {
  return new ArtifactError('LOCAL_IO', `Cannot spool the zip: ${describe(error)}`, { cause: error });
}

/**
 * The body of a zip as it downloads, read at random by yauzl (through ZipReader) and by the extraction.
 * The body is consumed in one of two ways, decided once the directory has been read and checked:
 * - `window`: the bytes stay in memory from the extraction's position up to WINDOW bytes ahead of it (or
 *   as far as a read needs), and the body waits while the window is full. Nothing touches the disk but the extracted files, as with
 *   `curl | bsdtar`. Possible when entries are extracted in the order of their data and no symlink target
 *   has to be read before the files (the extraction only ever moves forward).
 * - `spool`: the bytes go to a private temp file, which any reader can read back at any position once the
 *   body has got there, like `unzip` on a downloaded file. For every other zip, and when the size is not
 *   known up front.
 * A read of bytes that have not arrived yet waits for them.
 */
export class ZipBody {
  readonly size: number | undefined;
  readonly fetchRange: FetchRange | undefined;
  mode: 'pending' | 'window' | 'spool' = 'pending';
  /** Bytes of the body consumed so far (its position). */
  length = 0;
  #done = false;
  #failure: { error: unknown } | undefined;
  #waiters: { end: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #pump: Promise<void> | undefined;
  #stopped = false;
  readonly #body: AsyncIterator<Buffer>;
  readonly #opts: ZipBodyOptions;
  // window mode
  #chunks: Buffer[] = [];
  /** Offset of #chunks[0]. */
  #windowAt = 0;
  /** Nothing below this is read again. */
  #released = 0;
  #room: (() => void) | undefined;
  // spool mode
  #dir: string | undefined;
  #fd: number | undefined;
  #block: Buffer | undefined;
  #blockAt = 0;
  #blockLength = 0;

  constructor(body: AsyncIterable<Buffer>, opts: ZipBodyOptions) {
    this.#body = body[Symbol.asyncIterator]();
    this.#opts = opts;
    this.size = opts.size;
    this.fetchRange = opts.fetchRange;
  }

  /** Whether the directory can be read ahead of the body, so the body is consumed only after it is checked. */
  get canReadAhead(): boolean {
    return this.fetchRange !== undefined && this.size !== undefined && this.size >= STREAM_MIN;
  }

  /** Consumes the body into memory, at the extraction's pace. */
  startWindow(): void {
    if (this.mode !== 'pending') return;
    this.mode = 'window';
    this.#start();
  }

  /** Consumes the body into a private temp file. Idempotent. */
  async startSpool(): Promise<void> {
    if (this.mode !== 'pending') return;
    this.mode = 'spool';
    try {
      this.#dir = await fs.mkdtemp(join(this.#opts.tmpDir ?? tmpdir(), 'pipewright-artifact-'));
      this.#fd = openSync(join(this.#dir, 'artifact.zip'), 'wx+', 0o600);
    } catch (error) {
      this.#fail(spoolError(error));
      throw this.#failure!.error;
    }
    this.#start();
  }

  #start(): void {
    this.#pump = (async () => {
      try {
        for (;;) {
          if (this.mode === 'window' && !this.#needed()) {
            await new Promise<void>((resolve) => (this.#room = resolve));
          }
          if (this.#stopped) return;
          const next = await this.#body.next();
          if (this.#stopped || next.done) break;
          this.#append(next.value);
        }
        this.#done = true;
        this.#wake();
      } catch (error) {
        this.#fail(error instanceof ArtifactError ? error : spoolError(error));
      }
    })();
  }

  #append(chunk: Buffer): void {
    if (this.length + chunk.length > this.#opts.maxLength) throw this.#opts.tooLarge();
    if (this.mode === 'window') {
      this.#chunks.push(chunk);
      this.#trim();
    } else {
      let at = 0;
      while (at < chunk.length) at += writeSync(this.#fd!, chunk, at, chunk.length - at, this.length + at);
    }
    this.length += chunk.length;
    if (this.#waiters.length > 0) this.#wake();
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake();
  }

  #short(end: number): ArtifactError {
    return new ArtifactError(
      'CORRUPT_ARCHIVE',
      `The zip ends at byte ${this.length} but its directory points to byte ${end}. The artifact is not a ` +
        'valid zip; rebuild and upload it again.',
    );
  }

  #wake(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (w.end <= this.length) w.resolve();
      else if (this.#failure) w.reject(this.#failure.error);
      else if (this.#done) w.reject(this.#short(w.end));
      else this.#waiters.push(w);
    }
  }

  /** Resolves once bytes [0, end) have arrived; undefined (no promise) when they already have. */
  waitFor(end: number): Promise<void> | undefined {
    if (end <= this.length) return undefined;
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (this.#done) return Promise.reject(this.#short(end));
    if (this.mode === 'window' && end - this.#released > WINDOW_READ_MAX) {
      // Only reads in the order of the data are planned in this mode; anything else is a bug, not a wait.
      return Promise.reject(new Error(`read of byte ${end}, beyond the window at ${this.#released}`));
    }
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ end, resolve, reject }));
    this.#resume();
    return waiting;
  }

  /** Whether the window should take more of the body: it has room, or a read waits for more. */
  #needed(): boolean {
    return this.length - this.#released < WINDOW || this.#waiters.length > 0;
  }

  #resume(): void {
    if (this.#room && this.#needed()) {
      const room = this.#room;
      this.#room = undefined;
      room();
    }
  }

  /** Resolves once the whole body has been consumed (rejects with the download's error). */
  async finished(): Promise<void> {
    if (this.mode === 'pending') await this.startSpool();
    await this.#pump;
    if (this.#failure) throw this.#failure.error;
  }

  /** Copies bytes that have arrived (see waitFor) into `target`. */
  read(target: Buffer, targetStart: number, start: number, length: number): void {
    if (start + length > this.length) throw new Error(`read of bytes not yet arrived at ${start}`);
    if (this.mode === 'window') {
      if (start < this.#windowAt) throw new Error(`read of byte ${start}, released already`);
      let at = this.#windowAt;
      let done = 0;
      for (const chunk of this.#chunks) {
        const end = at + chunk.length;
        if (end > start + done) {
          const from = start + done - at;
          const n = Math.min(chunk.length - from, length - done);
          chunk.copy(target, targetStart + done, from, from + n);
          done += n;
          if (done === length) return;
        }
        at = end;
      }
      return;
    }
    // Spool: small reads (records, headers) through one cached block, larger ones straight in.
    if (this.#block && start >= this.#blockAt && start + length <= this.#blockAt + this.#blockLength) {
      this.#block.copy(target, targetStart, start - this.#blockAt, start - this.#blockAt + length);
      return;
    }
    if (length <= READ_BLOCK / 4) {
      this.#block ??= Buffer.allocUnsafe(READ_BLOCK);
      this.#blockLength = readSync(
        this.#fd!,
        this.#block,
        0,
        Math.min(READ_BLOCK, this.length - start),
        start,
      );
      this.#blockAt = start;
      this.#block.copy(target, targetStart, 0, length);
      return;
    }
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd!, target, targetStart + done, length - done, start + done);
      if (n === 0) throw new Error(`the spool ends at ${start + done}`);
      done += n;
    }
  }

  /** The extraction will not read below `position` again: the window lets those bytes go. */
  release(position: number): void {
    if (this.mode !== 'window' || position <= this.#released) return;
    this.#released = position;
    this.#trim();
  }

  #trim(): void {
    while (this.#chunks.length > 0 && this.#windowAt + this.#chunks[0]!.length <= this.#released) {
      this.#windowAt += this.#chunks.shift()!.length;
    }
    this.#resume();
  }

  /** Stops the body (when the extraction failed), waits for it to let go, and removes the spool. */
  async close(): Promise<void> {
    if (this.#pump && !this.#done) {
      this.#stopped = true;
      this.#opts.stop?.();
      this.#room?.();
      await this.#pump;
    }
    this.#chunks = [];
    if (this.#fd !== undefined) closeSync(this.#fd);
    if (this.#dir !== undefined) await fs.rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * yauzl's documented extension point for its input (`fromRandomAccessReader`), over a ZipBody. yauzl
 * still does all the parsing; this only decides where bytes come from:
 * - while `ahead` is on (reading the central directory, which sits at the end), bytes the body has not
 *   brought are fetched with a ranged GET of the same object version, so every entry is known and checked
 *   before the body is consumed;
 * - anything else comes from the body, waiting for it when needed.
 */
export class ZipReader extends yauzl.RandomAccessReader {
  ahead: boolean;
  #fetched: { at: number; data: Buffer }[] = [];
  #fetchedBytes = 0;
  #lastFetched = 0;

  constructor(readonly body: ZipBody) {
    super();
    this.ahead = body.mode === 'pending';
  }

  /** The directory has been read: what was fetched of it goes, and from now on bytes come from the body. */
  stopFetching(): void {
    this.ahead = false;
    this.#fetched = [];
    this.#fetchedBytes = 0;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // Each read waits for the body to get there; in the window, what has been read is let go.
    const { body } = this;
    let position = start;
    return new Readable({
      highWaterMark: 64 * 1024,
      read(size) {
        const want = Math.min(size, end - position);
        if (want <= 0) {
          this.push(null);
          return;
        }
        const go = () => {
          const n = Math.min(want, body.length - position);
          const chunk = Buffer.allocUnsafe(n);
          try {
            body.read(chunk, 0, position, n);
          } catch (error) {
            this.destroy(error as Error);
            return;
          }
          position += n;
          body.release(position);
          this.push(chunk);
        };
        const waiting = body.waitFor(position + 1);
        if (waiting) waiting.then(go, (error: unknown) => this.destroy(error as Error));
        else go();
      },
    });
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null, bytesRead?: number) => void,
  ): void {
    const end = position + length;
    // Callbacks are always asynchronous: yauzl reads the next directory record from inside the callback.
    if (this.#fromFetched(buffer, offset, position, end)) {
      process.nextTick(callback, null, length);
      return;
    }
    const { body } = this;
    if (body.size !== undefined && end > body.size) {
      process.nextTick(callback, new Error(`read of bytes ${position}-${end} past the end of the zip`));
      return;
    }
    if (this.ahead && body.fetchRange && body.mode === 'pending') {
      if (this.#fetchedBytes < FETCH_MAX) {
        const [from, to] = this.#fetchSpan(position, end, body.size!);
        body.fetchRange(from, to).then(
          (data) => {
            if (data.length !== to - from) {
              callback(new Error(`a ranged read at ${from} returned ${data.length} bytes`));
              return;
            }
            this.#fetched.push({ at: from, data });
            this.#fetchedBytes += data.length;
            data.copy(buffer, offset, position - from, end - from);
            callback(null, length);
          },
          (error: unknown) => callback(error as Error),
        );
        return;
      }
      // A directory too large to hold: read the rest from the body.
      body.startSpool().then(
        () => this.read(buffer, offset, length, position, callback),
        (error: unknown) => callback(error as Error),
      );
      return;
    }
    const copy = () => {
      try {
        body.read(buffer, offset, position, length);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback(null, length);
    };
    const waiting = body.waitFor(end);
    if (waiting) waiting.then(copy, (error: unknown) => callback(error as Error));
    else process.nextTick(copy);
  }

  /**
   * What to fetch for a read of [position, end): at least FETCH_BLOCK bytes around it (backwards too, at
   * the end of the zip), and up to the next block already fetched, when it is near: the directory's
   * records are read in order up to the end-of-directory record, fetched first.
   */
  #fetchSpan(position: number, end: number, size: number): [number, number] {
    const from = Math.max(0, Math.min(position, end - FETCH_BLOCK));
    const to = Math.max(end, Math.min(size, from + FETCH_BLOCK));
    let next = Number.POSITIVE_INFINITY;
    for (const { at } of this.#fetched) if (at >= to && at < next) next = at;
    return [from, next - from <= FETCH_SPAN ? next : to];
  }

  #fromFetched(buffer: Buffer, offset: number, position: number, end: number): boolean {
    const blocks = this.#fetched;
    // Reads go in order, so the block that served the last one usually serves this one.
    for (let k = 0; k < blocks.length; k++) {
      const i = (this.#lastFetched + k) % blocks.length;
      const { at, data } = blocks[i]!;
      if (position >= at && end <= at + data.length) {
        data.copy(buffer, offset, position - at, end - at);
        this.#lastFetched = i;
        return true;
      }
    }
    return false;
  }

  override close(callback: (error: Error | null) => void): void {
    // The body's owner closes it.
    process.nextTick(callback, null);
  }
}
