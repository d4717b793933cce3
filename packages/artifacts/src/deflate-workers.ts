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

/**
 * Per file in the worker: open without following a link swapped in after the listing, read it whole,
 * CRC-32 and deflate it synchronously (one call each). Results travel back packed in one transferred buffer.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, closeSync, readFileSync } = require('node:fs');
const { deflateRawSync, crc32 } = require('node:zlib');
const { level, flags, youngGcBytes } = workerData;

// A young collection every youngGcBytes of file and deflated buffers (see young-gc.ts): V8 alone lets some
// 64 MiB of them pile up per thread before it collects.
${WORKER_YOUNG_GC_SOURCE}
// A file's bytes and its deflated copy are done with once copied; freeing them now keeps this thread's
// heap from filling with them until V8's next full collection (see detach.ts). Only a buffer that is the
// whole of its memory: a small one is a slice of Node's shared pool, which Node 20 lets be transferred.
function free(buffer) {
  if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
  try {
    structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
  } catch {}
}

// Told once the limit above is applied again (see DeflateWorkers.start).
parentPort.postMessage({ ready: true });

parentPort.on('message', ({ seq, paths }) => {
  const nums = new Float64Array(paths.length * 3);
  const parts = [];
  const failures = [];
  let total = 0;
  for (let i = 0; i < paths.length; i++) {
    try {
      const fd = openSync(paths[i], flags);
      let data;
      try {
        data = readFileSync(fd);
      } finally {
        closeSync(fd);
      }
      const compressed = deflateRawSync(data, { level });
      nums[i * 3] = crc32(data);
      nums[i * 3 + 1] = data.length;
      nums[i * 3 + 2] = compressed.length;
      parts.push(compressed);
      total += compressed.length;
      collect(data.length + compressed.length);
      free(data);
    } catch (error) {
      nums[i * 3 + 2] = -1;
      failures.push({ index: i, message: String(error && error.message), code: error && error.code });
    }
  }
  // Never from Buffer's shared pool, so its memory can be transferred.
  const packed = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const part of parts) {
    at += part.copy(packed, at);
    free(part);
  }
  parentPort.postMessage({ seq, nums, packed, failures }, [nums.buffer, packed.buffer]);
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

  /** Threads start as work needs them, up to `max`. */
  constructor(
    private readonly level: number,
    private readonly flags: number,
    private readonly max = 1,
  ) {}

  /** Threads started so far. */
  get threads(): number {
    return this.#slots.length;
  }

  #spawn(): Slot {
    // The files and their deflated copies are the only allocations: a small young generation collects
    // them often and cheaply, so the threads' memory stays flat.
    const gc = threadGcOptions(2);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { level: this.level, flags: this.flags, ...gc.workerData },
      resourceLimits: gc.resourceLimits,
      stdout: false,
      stderr: false,
    });
    let onReady = () => {};
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const slot: Slot = { worker, inFlight: new Map(), ready };
    worker.on('message', (message: WorkerResult | { ready: true }) => {
      if ('ready' in message) {
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
    slot.worker.postMessage({ seq: batch.seq, paths: batch.paths });
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
