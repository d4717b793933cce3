import { closeSync, fchmodSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import zlib, { crc32 } from 'node:zlib';
import { threadGcOptions, WORKER_YOUNG_GC_SOURCE, youngGc } from './young-gc.js';
import { ZLIB_BINDING_SOURCE } from './zlib-binding.js';

const fsSync = { openSync, writeSync, closeSync, fchmodSync, lstatSync, unlinkSync };

/** One small zip entry for a worker: what it must inflate to, and where it goes. */
export interface SmallFileJob {
  /** The caller's handle for the entry, echoed in failures. */
  id: number;
  /** Absolute destination; its folder was created and checked by the TreeWriter. */
  path: string;
  compressedSize: number;
  /** Declared uncompressed size, already checked against the limits. */
  size: number;
  deflated: boolean;
  crc32: number;
  /** Final permission bits (rwx only). */
  mode: number;
  /** Whether the umask would strip bits of `mode`, so an explicit fchmod is needed. */
  chmod: boolean;
}

export interface SmallFileFailure {
  id: number;
  /**
   * corrupt: the data is bad; symlink: a symlink is already at the path; conflict: a folder is; io: a
   * write failed. (A regular file already there is replaced, as TreeWriter does.)
   */
  kind: 'corrupt' | 'symlink' | 'conflict' | 'io';
  message: string;
  code?: string;
}

/** Numbers per job in a batch message (a Float64Array, transferred rather than copied). */
const NUMS = 8;

/**
 * Defines `makeInflate(zlib, reuse)`, which returns `{ inflateEntry, reusedStream }`. `inflateEntry(raw,
 * size)` gives an entry's bytes, inflated with at most `size` + 1 bytes of output, exactly as
 * `inflateRawSync(raw, { maxOutputLength })` would give them or fail (ERR_BUFFER_TOO_LARGE past `size`). inflateRawSync builds a zlib stream per call (a Transform and
 * its zlib state), which over 20,000 small entries costs a third of the inflating CPU time on Node 20 (a
 * fifth on Node 24), and on Node 24 each finished one keeps its memory until a full collection. So one
 * stream serves every entry, reset between them, driven through its binding as Node's own inflateRawSync
 * drives it (zlib-binding.ts), into one output buffer that is reused: the result is valid until the
 * next call. The binding is internal: it is used only if present and if a sample inflates to the right
 * bytes; a damaged entry destroys the stream (Node's own error handling), and then that entry goes through
 * inflateRawSync for its exact error and a new stream serves the next.
 */
const INFLATE_SOURCE = `
${ZLIB_BINDING_SOURCE}
function makeInflate(zlib, reuse) {
  const fresh = (raw, size) =>
    zlib.inflateRawSync(raw, { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(64, size + 1) });
  if (!reuse) return { inflateEntry: fresh, reusedStream: false };
  let engine;
  let binding;
  let out = Buffer.alloc(0);
  function open() {
    engine = zlib.createInflateRaw();
    binding = openZlibBinding(engine);
    return binding !== undefined;
  }
  function reused(raw, size) {
    // A damaged entry destroyed the last stream: a new one serves this entry.
    if (engine.destroyed && !open()) return fresh(raw, size);
    const room = size + 1;
    if (out.length < room) out = Buffer.allocUnsafeSlow(Math.max(room, Math.min(out.length * 2, 2 << 20)));
    binding.handle.writeSync(zlib.constants.Z_FINISH, raw, 0, raw.length, out, 0, room);
    if (engine.destroyed) return fresh(raw, size);
    const availOut = binding.state[0];
    binding.handle.reset();
    if (availOut === 0) {
      const error = new RangeError('Cannot create a Buffer larger than ' + size + ' bytes');
      error.code = 'ERR_BUFFER_TOO_LARGE';
      throw error;
    }
    return out.subarray(0, room - availOut);
  }
  try {
    if (open()) {
      const sample = Buffer.from('pipewright '.repeat(300) + 'end');
      const packed = zlib.deflateRawSync(sample);
      let ok = true;
      for (let round = 0; round < 2 && ok; round++) ok = reused(packed, sample.length).equals(sample);
      try {
        reused(packed, sample.length - 1);
        ok = false;
      } catch (error) {
        ok = ok && error.code === 'ERR_BUFFER_TOO_LARGE';
      }
      if (ok) return { inflateEntry: reused, reusedStream: true };
    }
  } catch {}
  if (engine) engine.destroy();
  return { inflateEntry: fresh, reusedStream: false };
}
`;

/**
 * The code that extracts one batch, as text: it runs in the worker threads (below) and, when they are
 * all busy, on the main thread too (`new Function`), so both follow one implementation. Text rather than
 * a module so that the same code runs from the TypeScript sources under the tests and from dist. It only
 * uses the names the two preludes define: Node's fs functions, `crc32`, `inflateEntry` and `reusedStream`
 * (from INFLATE_SOURCE), `flags` and `collect(bytes)`.
 *
 * Per entry: inflate the compressed bytes in one call with at most the declared size + 1 bytes of output
 * (so a lying entry can never produce more than was checked), compare the size and CRC-32, then create the
 * file with O_EXCL|O_NOFOLLOW and write it: the same rules as TreeWriter.smallFile (replaceable()
 * included), with synchronous calls, as `unzip` does.
 */
const BATCH_SOURCE = `
function extract(path, raw, n, at) {
  const id = n[at], size = n[at + 3];
  const deflated = n[at + 4] === 1, crc = n[at + 5], mode = n[at + 6], chmod = n[at + 7] === 1;
  const corrupt = (message) => ({ id, kind: 'corrupt', message });
  let data = raw;
  if (deflated) {
    try {
      // Never more than the declared size + 1, so a lying entry can never produce more than was checked.
      data = inflateEntry(raw, size);
    } catch (error) {
      if (error && error.code === 'ERR_BUFFER_TOO_LARGE') return corrupt('inflates past its declared size');
      return corrupt('is damaged: ' + (error && error.message));
    }
    if (!reusedStream) collect(data.length);
  }
  if (data.length !== size) return corrupt('has ' + data.length + ' bytes, its header says ' + size);
  if (crc32(data) !== crc) return corrupt('fails its CRC-32 check');
  let out;
  try {
    out = openSync(path, flags, mode);
  } catch (error) {
    if (error.code !== 'EEXIST' && error.code !== 'ELOOP') {
      return { id, kind: 'io', message: String(error.message), code: error.code };
    }
    // Something is already there (TreeWriter's rule): a symlink or a folder is refused, a file replaced.
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return { id, kind: 'symlink', message: '' };
      if (stat.isDirectory()) return { id, kind: 'conflict', message: '' };
      unlinkSync(path);
      out = openSync(path, flags, mode);
    } catch (again) {
      return { id, kind: 'io', message: String(again.message), code: again.code };
    }
  }
  try {
    let at = 0;
    while (at < data.length) at += writeSync(out, data, at, data.length - at);
    if (chmod) fchmodSync(out, mode);
  } catch (error) {
    return { id, kind: 'io', message: String(error.message), code: error.code };
  } finally {
    closeSync(out);
  }
  return undefined;
}

function runBatch(paths, nums, data) {
  const failures = [];
  let ok = 0, bytes = 0;
  for (let i = 0, at = 0; i < paths.length; i++) {
    const compressedSize = nums[i * ${NUMS} + 2];
    let failure;
    try {
      failure = extract(paths[i], data.subarray(at, at + compressedSize), nums, i * ${NUMS});
    } catch (error) {
      failure = { id: nums[i * ${NUMS}], kind: 'io', message: String(error && error.message), code: error && error.code };
    }
    at += compressedSize;
    if (failure) failures.push(failure);
    else {
      ok++;
      bytes += nums[i * ${NUMS} + 3];
    }
  }
  return { ok, bytes, failures };
}
`;

/** A worker thread: the batch code, its own young collections, and a loop over batch messages. */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, writeSync, closeSync, fchmodSync, lstatSync, unlinkSync } = require('node:fs');
const zlib = require('node:zlib');
const { crc32 } = zlib;
const { flags, youngGcBytes, reuseStream } = workerData;

// A young collection every youngGcBytes of inflated buffers (see young-gc.ts): V8 alone lets them pile up.
${WORKER_YOUNG_GC_SOURCE}
${INFLATE_SOURCE}
const { inflateEntry, reusedStream } = makeInflate(zlib, reuseStream);
parentPort.postMessage({ reusedStream });
${BATCH_SOURCE}
parentPort.on('message', ({ paths, nums, data }) => {
  const result = runBatch(paths, nums, data);
  parentPort.postMessage({ ...result, data }, [data.buffer]);
});
`;

type RunBatch = (paths: string[], nums: Float64Array, data: Buffer) => BatchResult;
interface BatchResult {
  ok: number;
  bytes: number;
  failures: SmallFileFailure[];
}

/**
 * The batch code for the main thread. Each extraction builds its own, so that its inflate stream and output
 * buffer go with it rather than staying for the life of the process.
 */
function runBatchHere(flags: number, reuseStream: boolean): RunBatch {
  return new Function(
    'deps',
    `const { openSync, writeSync, closeSync, fchmodSync, lstatSync, unlinkSync, zlib, crc32, flags, reuseStream, collect } = deps;
    ${INFLATE_SOURCE}
    const { inflateEntry, reusedStream } = makeInflate(zlib, reuseStream);
    ${BATCH_SOURCE}
    return runBatch;`,
  )({
    ...fsSync,
    zlib,
    crc32,
    flags,
    reuseStream,
    collect: (bytes: number) => youngGc.add(bytes),
  }) as RunBatch;
}

/**
 * Compressed bytes per batch (each batch's are copied into one buffer, transferred to a worker and back,
 * and reused). A larger entry (up to 1 MiB, rare) gets a buffer of its own, used once.
 */
const BATCH_BYTES = 512 * 1024;
/** Jobs per batch: few messages, but a worker never waits long for work. */
const BATCH_JOBS = 64;
/** Batches queued per worker: one being worked on, one waiting. */
const IN_FLIGHT = 2;

interface Slot {
  worker: Worker;
  inFlight: number;
  exited: boolean;
  /** Whether the thread inflates with one reused zlib stream (known once it has started). */
  reusedStream?: boolean;
}

/**
 * Worker threads that inflate and write small zip entries, so that on a multi-core machine the inflating
 * (the bulk of the CPU work) and the file writes run beside the download, the parsing and the safety
 * checks on the main thread; when every worker has its fill of batches, the main thread takes the next
 * one itself. A batch's compressed bytes travel in a buffer that is transferred (not copied) to the worker
 * and back, and reused; so the only allocation per entry is its inflated content.
 */
export class SmallFileWorkers {
  readonly #slots: Slot[];
  readonly #free: Buffer[] = [];
  #data: Buffer | undefined;
  #used = 0;
  #paths: string[] = [];
  #nums: number[] = [];
  #failure: { error: unknown } | undefined;
  #waiters: (() => void)[] = [];
  #closed = false;
  /** The batch code for this thread, built when a batch first runs here. */
  #runHere: RunBatch | undefined;

  constructor(
    private readonly flags: number,
    count: number,
    private readonly onDone: (files: number, bytes: number) => void,
    private readonly onFailure: (failure: SmallFileFailure) => void,
    /** false: inflateRawSync for every entry (the fallback; tests compare the two). */
    private readonly reuseStream = true,
  ) {
    // A young collection every 2 MiB inflated, and the smallest young generation: with next to nothing
    // alive in it, a collection costs a fraction of a millisecond, and memory stays flat.
    const gc = threadGcOptions(1);
    this.#slots = Array.from({ length: count }, () => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { flags, reuseStream, ...gc.workerData },
        resourceLimits: gc.resourceLimits,
        stdout: false,
        stderr: false,
      });
      const slot: Slot = { worker, inFlight: 0, exited: false };
      worker.on(
        'message',
        (
          result:
            | { ok: number; bytes: number; failures: SmallFileFailure[]; data: Uint8Array }
            | { reusedStream: boolean },
        ) => {
          if ('reusedStream' in result) {
            slot.reusedStream = result.reusedStream;
            return;
          }
          slot.inFlight--;
          this.#reuse(Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
          this.#results(result);
          this.#notify();
        },
      );
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        slot.exited = true;
        if (!this.#closed) this.#fail(new Error(`an extraction thread exited with code ${code}`));
        this.#notify();
      });
      return slot;
    });
  }

  /** Whether every thread that has started inflates with one reused zlib stream; undefined before any has. */
  get reusedStream(): boolean | undefined {
    const known = this.#slots.filter((slot) => slot.reusedStream !== undefined);
    return known.length === 0 ? undefined : known.every((slot) => slot.reusedStream);
  }

  #check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #idle(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.inFlight < IN_FLIGHT && (!best || slot.inFlight < best.inFlight)) best = slot;
    }
    return best;
  }

  #flush(slot: Slot): void {
    const nums = Float64Array.from(this.#nums);
    const data = this.#data!;
    slot.worker.postMessage({ paths: this.#paths, nums, data }, [nums.buffer, data.buffer as ArrayBuffer]);
    slot.inFlight++;
    this.#data = undefined;
    this.#used = 0;
    this.#paths = [];
    this.#nums = [];
  }

  /**
   * Sends the batch being filled to a worker with room for it or, when they all have their fill, extracts
   * it on this thread: then the main thread works instead of waiting, and the machine's cores are used.
   * Workers' results are events: the event loop gets a turn first, so that one that has just finished is
   * seen as free (the extraction itself mostly runs on promise callbacks, which never yield to it).
   */
  async #send(): Promise<void> {
    let slot = this.#idle();
    if (!slot) {
      await new Promise((resolve) => setImmediate(resolve));
      this.#check();
      slot = this.#idle();
    }
    if (slot) {
      this.#flush(slot);
      return;
    }
    const data = this.#data!;
    this.#runHere ??= runBatchHere(this.flags, this.reuseStream);
    const result = this.#runHere(this.#paths, Float64Array.from(this.#nums), data);
    this.#reuse(data);
    this.#data = undefined;
    this.#used = 0;
    this.#paths = [];
    this.#nums = [];
    this.#results(result);
  }

  #reuse(data: Buffer): void {
    if (data.length === BATCH_BYTES) this.#free.push(data);
  }

  #results(result: BatchResult): void {
    if (result.ok > 0) this.onDone(result.ok, result.bytes);
    for (const failure of result.failures) this.onFailure(failure);
  }

  /**
   * Queues a job; `fill` copies its compressed bytes into `target` at `at`. Returns a promise only when
   * a full batch had to wait for the event loop (see #send).
   */
  submit(job: SmallFileJob, fill: (target: Buffer, at: number) => void): Promise<void> | undefined {
    this.#check();
    if (this.#data && this.#used + job.compressedSize > this.#data.length) {
      return this.#send().then(() => this.submit(job, fill));
    }
    this.#data ??=
      job.compressedSize > BATCH_BYTES
        ? Buffer.allocUnsafeSlow(job.compressedSize)
        : (this.#free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES));
    fill(this.#data, this.#used);
    this.#used += job.compressedSize;
    this.#paths.push(job.path);
    this.#nums.push(
      job.id,
      0,
      job.compressedSize,
      job.size,
      job.deflated ? 1 : 0,
      job.crc32,
      job.mode,
      job.chmod ? 1 : 0,
    );
    // A worker with nothing to do gets what there is now; otherwise batches fill up.
    const idle = this.#slots.find((slot) => slot.inFlight === 0);
    if (idle) this.#flush(idle);
    else if (this.#paths.length >= BATCH_JOBS) return this.#send();
    return undefined;
  }

  /** Sends what is queued and waits until every job has been done (or failed). */
  async drain(): Promise<void> {
    if (this.#paths.length > 0) await this.#send();
    while (this.#slots.some((s) => s.inFlight > 0)) {
      this.#check();
      await this.#changed();
    }
    this.#check();
  }

  /**
   * Stops the threads. After a failure the batches already sent are let finish first (a few dozen small
   * files at most), so that no thread is cut between creating a file and closing it.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#slots.some((s) => s.inFlight > 0 && !s.exited)) await this.#changed();
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }
}
