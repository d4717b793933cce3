import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type MinorGc = (options: { type: 'minor' }) => void;

let minorGc: MinorGc | null | undefined;

/**
 * V8's `gc` function, obtained without exposing it to anyone else: unless the process already has it
 * (`--expose-gc`), the flag is turned on for the one new context this creates, then off again. Null when
 * the runtime does not allow it.
 */
function getMinorGc(): MinorGc | null {
  if (minorGc !== undefined) return minorGc;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    minorGc = exposed as MinorGc;
    return minorGc;
  }
  minorGc = null;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') minorGc = gc as MinorGc;
  } catch {
    // Flags frozen or the function missing: collection stays V8's business.
  } finally {
    try {
      setFlagsFromString('--no-expose-gc');
    } catch {}
  }
  return minorGc;
}

/** Bytes of short-lived buffers between two young-generation collections. */
export const YOUNG_GC_BYTES = 4 * 1024 * 1024;

/**
 * Collects the young generation every YOUNG_GC_BYTES of short-lived buffers. V8 only collects buffers
 * (network chunks, inflated files) when its young generation fills with objects or when some 32 MiB of
 * them have piled up; a transfer of hundreds of megabytes in 64 KiB chunks allocates few objects, so the
 * garbage sits at that ceiling, a quarter of the 128 MiB the job worker aims at. A young collection with
 * nearly nothing alive takes about a millisecond.
 */
class YoungGc {
  #since = 0;

  add(bytes: number): void {
    this.#since += bytes;
    if (this.#since < YOUNG_GC_BYTES) return;
    this.#since = 0;
    getMinorGc()?.({ type: 'minor' });
  }
}

/** The main thread's: network chunks and buffers inflated on the main thread count towards it. */
export const youngGc = new YoungGc();

/**
 * The same for a worker thread, as source text for its eval'd code: defines `collect(bytes)`, which runs a
 * young collection every `youngGcBytes` (a name the worker's code defines from its workerData).
 */
export const WORKER_YOUNG_GC_SOURCE = `
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
