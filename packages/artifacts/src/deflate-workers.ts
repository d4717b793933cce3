import { Worker } from 'node:worker_threads';
import { detachAfterCopies } from './detach.js';
import {
  emptyYoungGeneration,
  reapplyYoungGenerationLimit,
  threadGcOptions,
  WORKER_YOUNG_GC_SOURCE,
  youngGc,
  youngGenerationLimited,
} from './young-gc.js';
import { ZLIB_BINDING_SOURCE } from './zlib-binding.js';

/** A small file read, checksummed and deflated by a worker thread. */
export interface Deflated {
  /** Raw DEFLATE, as zip's method 8 stores it. */
  compressed: Buffer;
  crc32: number;
  /** Bytes read (the file may have changed size since it was listed). */
  size: number;
}

/** A file submitted for deflating: its result, and how to make sure its batch has been sent. */
export interface DeflateTicket {
  result: Promise<Deflated>;
  /** Sends the file's batch now if it is still being filled (a no-op once sent). */
  send(): void;
}

/** The thread's read buffer to begin with: files up to BUFFERED_MAX (1 MiB) fit without growing it. */
const READ_BUFFER_BYTES = 1024 * 1024 + 1;

/**
 * Per file in the worker: open without following a link swapped in after the listing, read it whole into
 * the thread's read buffer, CRC-32 it and deflate it straight into the batch's result buffer, which is
 * transferred back whole. A batch allocates that one buffer and nothing per file.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, closeSync, readSync } = require('node:fs');
const zlib = require('node:zlib');
const { level, flags, youngGcBytes, reuseStream } = workerData;

// A young collection every youngGcBytes of result buffers (see young-gc.ts): V8 alone lets some 64 MiB of
// them pile up per thread before it collects.
${WORKER_YOUNG_GC_SOURCE}
${ZLIB_BINDING_SOURCE}
// A buffer done with is freed now rather than at V8's next full collection (see detach.ts). Only a buffer
// that is the whole of its memory: a small one is a slice of Node's shared pool.
function free(buffer) {
  if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
  try {
    structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
  } catch {}
}

// Every file is read into this buffer, kept for the thread's life and grown for a larger file.
let input = Buffer.allocUnsafeSlow(${READ_BUFFER_BYTES});
function readWhole(fd) {
  let n = 0;
  for (;;) {
    if (n === input.length) {
      const larger = Buffer.allocUnsafeSlow(input.length * 2);
      input.copy(larger, 0, 0, n);
      free(input);
      input = larger;
    }
    const got = readSync(fd, input, n, input.length - n, null);
    if (got === 0) return input.subarray(0, n);
    n += got;
  }
}

// The batch's result: deflated files back to back. Never from Buffer's shared pool, so it can be transferred.
let out = Buffer.alloc(0);
let at = 0;
function ensureRoom(bytes) {
  if (out.length - at >= bytes) return;
  const larger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, at + bytes));
  out.copy(larger, 0, 0, at);
  free(out);
  out = larger;
}
// More than deflate can ever produce from n bytes (zlib's deflateBound is n + n/4096 + n/16384 + 13).
const bound = (n) => n + (n >> 10) + 64;

// deflateRawSync builds a zlib stream per call (a Transform, 256 KiB of zlib state, zeroed tables): over
// 20,000 small files that was 7-10% of this thread's time. So one stream serves every file, reset between
// them, through its binding (zlib-binding.ts): used only if it deflates a sample to exactly the bytes
// deflateRawSync gives; otherwise, and for good after any error, deflateRawSync does the work.
function fresh(data) {
  const compressed = zlib.deflateRawSync(data, { level });
  ensureRoom(compressed.length);
  at += compressed.copy(out, at);
  free(compressed);
}
function reusedStream() {
  const engine = zlib.createDeflateRaw({ level });
  const binding = openZlibBinding(engine);
  if (!binding) return undefined;
  const { handle, state } = binding;
  return function deflate(data) {
    ensureRoom(bound(data.length));
    let inOff = 0;
    let inLen = data.length;
    for (;;) {
      const room = out.length - at;
      handle.writeSync(zlib.constants.Z_FINISH, data, inOff, inLen, out, at, room);
      if (engine.destroyed) throw new Error('the deflate stream failed');
      at += room - state[0];
      inOff += inLen - state[1];
      inLen = state[1];
      // Z_FINISH with output room left means the stream is complete.
      if (state[0] !== 0) break;
      ensureRoom(bound(inLen));
    }
    handle.reset();
  };
}
function sampleMatches(deflate) {
  // 16 KiB, mostly pseudo-random: quick to deflate (a repetitive sample made this check take 50 ms per
  // thread), and larger than the 1 KiB it starts with, so growing the result buffer is checked too.
  const sample = Buffer.alloc(16 * 1024);
  for (let i = 0, x = 1; i < sample.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    sample[i] = i % 4 === 0 ? 97 + (i % 13) : x >>> 24;
  }
  const expected = zlib.deflateRawSync(sample, { level });
  try {
    for (let round = 0; round < 2; round++) {
      out = Buffer.allocUnsafeSlow(1024);
      at = 0;
      deflate(sample);
      if (!out.subarray(0, at).equals(expected)) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    out = Buffer.alloc(0);
    at = 0;
  }
}
let deflateOne = fresh;
if (reuseStream) {
  try {
    const reused = reusedStream();
    if (reused && sampleMatches(reused)) deflateOne = reused;
  } catch {}
}

// Told once the limit above is applied again (see DeflateWorkers.start).
parentPort.postMessage({ ready: true, reusedStream: deflateOne !== fresh });

parentPort.on('message', ({ seq, paths, bytes }) => {
  const nums = new Float64Array(paths.length * 3);
  const failures = [];
  out = Buffer.allocUnsafeSlow(Math.max(1024, bound(bytes || 0) + 64 * paths.length));
  at = 0;
  for (let i = 0; i < paths.length; i++) {
    const start = at;
    try {
      const fd = openSync(paths[i], flags);
      let data;
      try {
        data = readWhole(fd);
      } finally {
        closeSync(fd);
      }
      try {
        deflateOne(data);
      } catch (error) {
        if (deflateOne === fresh) throw error;
        // The reused stream failed: this file and every later one go through deflateRawSync.
        deflateOne = fresh;
        at = start;
        deflateOne(data);
      }
      nums[i * 3] = zlib.crc32(data);
      nums[i * 3 + 1] = data.length;
      nums[i * 3 + 2] = at - start;
    } catch (error) {
      at = start;
      nums[i * 3 + 2] = -1;
      failures.push({ index: i, message: String(error && error.message), code: error && error.code });
    }
  }
  collect(out.length);
  const packed = out.subarray(0, at);
  const memory = out.buffer;
  out = Buffer.alloc(0);
  parentPort.postMessage({ seq, nums, packed, failures }, [nums.buffer, memory]);
});
`;

/** Files per batch and bytes (as listed) per batch: few messages, but no thread waits long for work. */
const BATCH_FILES = 16;
const BATCH_BYTES = 256 * 1024;

interface Pending {
  resolve(value: Deflated): void;
  reject(error: unknown): void;
}

interface Batch {
  seq: number;
  paths: string[];
  pending: Pending[];
  bytes: number;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Batch>;
  /** Resolves once the thread runs its code (it has applied the young-generation limit again). */
  ready: Promise<void>;
  /** Whether the thread deflates with one reused zlib stream (known once it is ready). */
  reusedStream?: boolean;
}

/**
 * Worker threads that read, checksum and deflate small files in batches. Node's own asynchronous zlib
 * sends every file through the thread pool and back, and on a virtual machine where waking a thread is a
 * system call that costs a tenth of a millisecond, those trips cost the main thread more CPU than the
 * deflating costs the pool (2.2 s of main-thread time for 20,000 files). Here a batch of files costs one
 * message each way, the main thread does no file I/O for them, and the deflating runs on every core.
 */
export class DeflateWorkers {
  readonly #slots: Slot[] = [];
  #batch: Batch | undefined;
  #seq = 0;
  #failure: Error | undefined;
  #closed = false;

  /**
   * Threads start as work needs them, up to `max`. `reuseStream: false` makes them use deflateRawSync for
   * every file (the fallback; tests compare the two).
   */
  constructor(
    private readonly level: number,
    private readonly flags: number,
    private readonly max = 1,
    private readonly reuseStream = true,
  ) {}

  /** Threads started so far. */
  get threads(): number {
    return this.#slots.length;
  }

  /** Whether every thread that has started deflates with one reused zlib stream; undefined before any has. */
  get reusedStream(): boolean | undefined {
    const known = this.#slots.filter((slot) => slot.reusedStream !== undefined);
    return known.length === 0 ? undefined : known.every((slot) => slot.reusedStream);
  }

  #spawn(): Slot {
    // The batches' result buffers are the only allocations: a small young generation collects them often
    // and cheaply, so the threads' memory stays flat.
    const gc = threadGcOptions(2);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { level: this.level, flags: this.flags, reuseStream: this.reuseStream, ...gc.workerData },
      resourceLimits: gc.resourceLimits,
      stdout: false,
      stderr: false,
    });
    let onReady = () => {};
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const slot: Slot = { worker, inFlight: new Map(), ready };
    worker.on('message', (message: WorkerResult | { ready: true; reusedStream: boolean }) => {
      if ('ready' in message) {
        slot.reusedStream = message.reusedStream;
        reapplyYoungGenerationLimit();
        onReady();
      } else this.#done(slot, message);
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => {
      onReady(); // a thread that never ran: start() must not wait for it
      if (!this.#closed) this.#fail(new Error(`a zip thread exited with code ${code}`));
    });
    this.#slots.push(slot);
    return slot;
  }

  /**
   * Starts the first thread and resolves once it runs; call it while nothing else runs. Node 20 resets V8's
   * flags while a thread starts, and until the thread applies the young-generation limit again
   * (young-gc.ts), a young collection on this thread that finds much alive grows the young generation for
   * good: 2 to 8 or 16 MiB in the benchmark, with the 20,000-item listing just made. So the young generation
   * is emptied first and nothing is added until the thread is up (some 30 ms). Without the limit there is
   * nothing to guard.
   */
  async start(): Promise<void> {
    if (!youngGenerationLimited()) return;
    if (this.#slots.length === 0) emptyYoungGeneration();
    const slot = this.#slots[0] ?? this.#spawn();
    await slot.ready;
    if (slot.inFlight.size === 0) slot.worker.unref();
  }

  /** Queues a file (absolute path, its listed size) for reading and deflating. */
  submit(path: string, size: number): DeflateTicket {
    if (this.#failure) {
      const result = Promise.reject(this.#failure);
      return { result, send() {} };
    }
    this.#batch ??= { seq: this.#seq++, paths: [], pending: [], bytes: 0 };
    const batch = this.#batch;
    const result = new Promise<Deflated>((resolve, reject) => batch.pending.push({ resolve, reject }));
    batch.paths.push(path);
    batch.bytes += size;
    // A thread with nothing to do (or one not started yet) gets what there is now; otherwise batches fill up.
    if (
      batch.paths.length >= BATCH_FILES ||
      batch.bytes >= BATCH_BYTES ||
      this.#slots.length < this.max ||
      this.#slots.some((s) => s.inFlight.size === 0)
    ) {
      this.#send(batch);
    }
    return { result, send: () => this.#send(batch) };
  }

  #send(batch: Batch): void {
    if (this.#batch !== batch || this.#failure) return;
    this.#batch = undefined;
    let slot = this.#slots.find((s) => s.inFlight.size === 0);
    if (!slot && this.#slots.length < this.max) slot = this.#spawn();
    slot ??= this.#slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    slot.inFlight.set(batch.seq, batch);
    if (slot.inFlight.size === 1) slot.worker.ref();
    slot.worker.postMessage({ seq: batch.seq, paths: batch.paths, bytes: batch.bytes });
  }

  #done(slot: Slot, { seq, nums, packed, failures }: WorkerResult): void {
    const batch = slot.inFlight.get(seq);
    if (!batch) return;
    slot.inFlight.delete(seq);
    if (slot.inFlight.size === 0) slot.worker.unref();
    const data = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
    // Short-lived on this thread too: yazl writes them out, the upload copies them into its parts.
    youngGc.add(data.length);
    const failed = new Map(failures.map((f) => [f.index, f]));
    // yazl writes each file's view once and the upload copies it; the last copy frees the whole batch.
    let views = 0;
    for (let i = 0; i < batch.pending.length; i++) if (!failed.has(i) && nums[i * 3 + 2]! > 0) views++;
    detachAfterCopies(packed.buffer, views);
    let at = 0;
    for (let i = 0; i < batch.pending.length; i++) {
      const failure = failed.get(i);
      if (failure) {
        batch.pending[i]!.reject(Object.assign(new Error(failure.message), { code: failure.code }));
        continue;
      }
      const length = nums[i * 3 + 2]!;
      batch.pending[i]!.resolve({
        compressed: data.subarray(at, at + length),
        crc32: nums[i * 3]!,
        size: nums[i * 3 + 1]!,
      });
      at += length;
    }
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error instanceof Error ? error : new Error(String(error));
    for (const slot of this.#slots) {
      for (const batch of slot.inFlight.values()) for (const p of batch.pending) p.reject(this.#failure);
      slot.inFlight.clear();
    }
    for (const p of this.#batch?.pending ?? []) p.reject(this.#failure);
    this.#batch = undefined;
  }

  /** Stops the threads; files still queued are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#fail(new Error('the zip was stopped'));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }
}

interface WorkerResult {
  seq: number;
  nums: Float64Array;
  packed: Uint8Array;
  failures: { index: number; message: string; code?: string }[];
}
