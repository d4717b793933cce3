/**
 * Frees a buffer's memory now rather than at V8's next full collection. Transferring an ArrayBuffer away
 * (`structuredClone` with `transfer`) detaches it: every view of it reads as empty from then on, and the
 * short-lived clone that owns the memory goes at the next young-generation collection. Only for buffers
 * nothing will read again, and never for memory other buffers may share: Node 20 lets its shared pool (the
 * memory of small Buffers) be transferred. False when it cannot be transferred (marked untransferable).
 */
export function detach(buffer: ArrayBufferLike): boolean {
  try {
    structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
    return true;
  } catch {
    return false;
  }
}

/** Buffers whose views are each copied once and then never read, by views still to be copied. */
const uncopied = new WeakMap<ArrayBufferLike, number>();

/**
 * Declares that `buffer` was handed out as `views` non-empty views, each to be copied exactly once by its
 * consumer (the upload copies the zip's output into its own chunks) and never read after that.
 */
export function detachAfterCopies(buffer: ArrayBufferLike, views: number): void {
  if (views > 0) uncopied.set(buffer, views);
}

/**
 * A view declared to detachAfterCopies was copied: the last one detaches the buffer, once the code that
 * handed the view over has finished with it (yazl reads a buffer's length after writing it, and a stream
 * write can reach the copy synchronously).
 */
export function copied(view: Uint8Array): void {
  const buffer = view.buffer;
  const left = uncopied.get(buffer);
  if (left === undefined) return;
  if (left > 1) uncopied.set(buffer, left - 1);
  else {
    uncopied.delete(buffer);
    setImmediate(() => detach(buffer));
  }
}
