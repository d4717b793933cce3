import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;

let gcFunction: Gc | null | undefined;

/**
 * V8's `gc` function, obtained without exposing it to anyone else: unless the process already has it
 * (`--expose-gc`), the flag is turned on for the one new context this creates, then off again. Null when
 * the runtime does not allow it.
 */
function getGc(): Gc | null {
  if (gcFunction !== undefined) return gcFunction;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    gcFunction = exposed as Gc;
    return gcFunction;
  }
  gcFunction = null;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') gcFunction = gc as Gc;
  } catch {
    // Flags frozen or the function missing: collection stays V8's business.
  } finally {
    try {
      setFlagsFromString('--no-expose-gc');
    } catch {}
  }
  return gcFunction;
}

/** Bytes of short-lived buffers between two young-generation collections. */
export const YOUNG_GC_BYTES = 4 * 1024 * 1024;

/**
 * Bytes of them between two full collections. What outlives two young collections (requests in flight,
 * batches, promises) is moved to the old generation, and V8 collects that only once it has grown by tens of
 * MiB, most of it dead: in the upload benchmark the main heap held 15 MiB alive in 20-34 MiB. A full
 * collection of such a heap takes 8-16 ms, one per 32 MiB moved costs about 1% of a transfer's time, and
 * on Node 24 it also frees the main thread's finished zlib handles, which only a full collection frees.
 */
export const FULL_GC_BYTES = 32 * 1024 * 1024;

/**
 * Collects the young generation every YOUNG_GC_BYTES of short-lived buffers, and the whole heap every
 * FULL_GC_BYTES. V8 only collects buffers
 * (network chunks, inflated files) when its young generation fills with objects or when some 32 MiB of
 * them have piled up; a transfer of hundreds of megabytes in 64 KiB chunks allocates few objects, so the
 * garbage sits at that ceiling, a quarter of the 128 MiB the job worker aims at. A young collection with
 * nearly nothing alive takes about a millisecond.
 */
class YoungGc {
  #since = 0;
  #sinceFull = 0;

  add(bytes: number): void {
    this.#since += bytes;
    if (this.#since < YOUNG_GC_BYTES) return;
    this.#since = 0;
    this.#sinceFull += YOUNG_GC_BYTES;
    if (this.#sinceFull >= FULL_GC_BYTES) {
      this.#sinceFull = 0;
      getGc()?.({ type: 'major' });
      return;
    }
    // A thread starting (Node 20) resets V8's flags while this thread keeps allocating: apply it again.
    reapplyYoungGenerationLimit();
    getGc()?.({ type: 'minor' });
  }
}

/** The main thread's: network chunks and buffers inflated on the main thread count towards it. */
export const youngGc = new YoungGc();

/**
 * Two young collections now, so that what is alive in the young generation is promoted and the next
 * collections find little: V8 grows the young generation when much survives, and a thread starting (Node 20)
 * resets the limit on that for a moment.
 */
export function emptyYoungGeneration(): void {
  const gc = getGc();
  gc?.({ type: 'minor' });
  gc?.({ type: 'minor' });
}

/**
 * The old-generation limit of the threads started here. V8 scales when it collects with this limit, and a
 * thread holds a few MiB at most; on Node 24 a zlib handle's 256 KiB of state goes only at a full collection,
 * so under the default (64 MiB here) each thread kept 35-45 MiB of finished handles. At 24 MiB it keeps
 * about 16, with no cost in time measured.
 */
const THREAD_OLD_GENERATION_MB = 24;

/** Stops V8 growing the young generation: the size it has is the size it keeps. */
const YOUNG_LIMIT_FLAG = '--semi-space-growth-factor=1';

/**
 * Whether the process has the limit, kept on globalThis rather than in this module: a single-file bundle can
 * hold this module twice (the GitHub Action compiles its artifact code lazily, with its own copy), and every
 * copy must know that the host applied the limit, or a copy would not apply it again after a thread starts.
 */
const LIMITED = Symbol.for('pipewright.youngGenerationLimited');
const processState = globalThis as { [LIMITED]?: boolean };

/**
 * Keeps V8's young generation at its starting size (two 1 MiB semi-spaces) for the rest of the process.
 * Under a transfer's allocation rate V8 doubles it up to 2 x 16 MiB (Node 20) or 2 x 32 MiB (Node 24) and
 * the process keeps that RSS; what a transfer allocates dies young either way, so the smaller one costs
 * little more collection time. Loading the AWS SDK grows it too (to 2 x 4 MiB), and a young generation once
 * grown grows again as a thread starts, so a host calls this first thing, before the SDK loads
 * (`@pipewright/artifacts/young-generation` is a light entry point for that). Process-wide, so it is the
 * host's call (the job worker makes it when created, the GitHub Action and `pipewright worker` at start).
 */
export function limitYoungGeneration(): void {
  processState[LIMITED] = true;
  applyYoungGenerationLimit();
}

/**
 * How a thread started here collects: its part of the workerData (read by WORKER_YOUNG_GC_SOURCE; a young
 * collection every 2 MiB, and the young-generation limit when the process has it) and its heap limits.
 */
export function threadGcOptions(maxYoungGenerationSizeMb: number) {
  return {
    workerData: { youngGcBytes: YOUNG_GC_BYTES / 2, limitYoungGeneration: youngGenerationLimited() },
    resourceLimits: { maxYoungGenerationSizeMb, maxOldGenerationSizeMb: THREAD_OLD_GENERATION_MB },
  };
}

/** Whether limitYoungGeneration() was called. */
export function youngGenerationLimited(): boolean {
  return processState[LIMITED] === true;
}

/** Applies the limit again if the process has it: a thread that started has reset V8's flags (Node 20). */
export function reapplyYoungGenerationLimit(): void {
  if (youngGenerationLimited()) applyYoungGenerationLimit();
}

function applyYoungGenerationLimit(): void {
  try {
    setFlagsFromString(YOUNG_LIMIT_FLAG);
  } catch {
    // Flags frozen: V8 sizes the young generation as it would anyway.
  }
}

/**
 * The same for a worker thread, as source text for its eval'd code: defines `collect(bytes)`, which runs a
 * young collection every `youngGcBytes` (a name the worker's code defines from its workerData). Node 20
 * resets V8's flags when a thread starts, so with `limitYoungGeneration` in its workerData the thread
 * applies the limit again, first thing (the main thread, busy, would hear of the thread's start late).
 */
export const WORKER_YOUNG_GC_SOURCE = `
if (require('node:worker_threads').workerData.limitYoungGeneration) {
  try {
    require('node:v8').setFlagsFromString('${YOUNG_LIMIT_FLAG}');
  } catch {}
}
// Not named \`gc\`: under --expose-gc the global \`gc\` cannot be redeclared, and the whole script would fail.
let minorGc = typeof globalThis.gc === 'function' ? globalThis.gc : null;
if (!minorGc) {
  try {
    const v8 = require('node:v8');
    v8.setFlagsFromString('--expose-gc');
    minorGc = require('node:vm').runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
  } catch {}
}
let collectSince = 0;
function collect(bytes) {
  collectSince += bytes;
  if (collectSince >= youngGcBytes && typeof minorGc === 'function') {
    collectSince = 0;
    minorGc({ type: 'minor' });
  }
}
`;
