import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type MinorGc = (options: { type: 'minor' }) => void;

let minorGc: MinorGc | null | undefined;

/**
 * V8's `gc` function, obtained without exposing it to anyone else: the flag is turned on for the one new
 * context this creates, then off again. Undefined when the runtime does not allow it.
 */
function getMinorGc(): MinorGc | null {
  if (minorGc !== undefined) return minorGc;
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
 * garbage sits at that ceiling, which is a quarter of the worker's memory target. A young collection with
 * nearly nothing alive takes well under a millisecond.
 */
class YoungGc {
  #since = 0;
  readonly #gc = getMinorGc();

  add(bytes: number): void {
    if (!this.#gc) return;
    this.#since += bytes;
    if (this.#since >= YOUNG_GC_BYTES) {
      this.#since = 0;
      this.#gc({ type: 'minor' });
    }
  }
}

/** The main thread's: network chunks and buffers inflated on the main thread count towards it. */
export const youngGc = new YoungGc();
