import type { S3Client } from '@aws-sdk/client-s3';
import { detach } from './detach.js';
import type { S3Location } from './location.js';

let nextId = 0;

/**
 * Gives the memory of an upload's parts back as soon as S3 has them, instead of at V8's next full collection.
 *
 * lib-storage copies each part of a stream body into a fresh buffer (`Buffer.concat`). A part lives while it
 * is sent, through several young-generation collections, so it dies in the old generation, and V8 starts a
 * full collection only after some 64 MiB of such memory has piled up: that pile was the largest share of an
 * upload's peak RSS. Transferring a buffer away (`structuredClone` with `transfer`) detaches it, and the
 * short-lived clone that now owns the memory goes at the next young collection (see detach.ts).
 *
 * A buffer is released only when nothing can read it again:
 * - every UploadPart that sent a view of it has succeeded (a failed one may be retried, or may still be
 *   writing, so it is left to the garbage collector);
 * - lib-storage has since sent a part cut from a different buffer: it concatenates the rest of the previous
 *   buffer into the next part before cutting it, so it holds no view of it any more;
 * - it is larger than a part, which only lib-storage's own concatenations are: the body's chunks and
 *   Node's shared buffer pool are never touched.
 *
 * A client built with `cacheMiddleware: true` that has already sent an UploadPart never consults a middleware
 * added later: its buffers are then left to the collector, as before.
 *
 * `reuse(buffer)` is offered each buffer as soon as S3 has every part sent from it, and takes the upload
 * body's own (see upload-body.ts), which knows when lib-storage lets go of them; a buffer it refuses is
 * released as above.
 *
 * `onCut(offset)` hears, as each part is sent, that lib-storage has cut its parts up to `offset` (every body
 * chunk up to the one that took it past `offset`), so that the body can reuse the buffers behind chunks that
 * unpatched lib-storage copied. `stop()` removes the middleware; `released()` counts the buffers given back.
 */
export function releasePartBuffers(
  s3: S3Client,
  location: S3Location,
  partSize: number,
  onCut: (offset: number) => void = () => {},
  reuse: (buffer: ArrayBufferLike) => boolean = () => false,
): { stop(): void; released(): number } {
  const name = `pipewrightReleasePartBuffers${++nextId}`;
  /** UploadParts in flight per buffer. */
  const sending = new Map<ArrayBufferLike, number>();
  /** Buffers whose parts all succeeded while lib-storage could still hold their rest. */
  const sent = new Set<ArrayBufferLike>();
  /** Buffers a failed part sent: a failed request may still be writing them, or be sent again. */
  const failed = new WeakSet<ArrayBufferLike>();
  let current: ArrayBufferLike | undefined;
  let released = 0;

  // After the current task, so lib-storage's own code after the part (progress, bookkeeping) runs first.
  const release = (buffer: ArrayBufferLike) =>
    setImmediate(() => {
      if (!failed.has(buffer) && detach(buffer)) released++;
    });
  const giveBack = (buffer: ArrayBufferLike) =>
    setImmediate(() => {
      // Sending a part again (the rest of a buffer as the last part): its own end gives the buffer back.
      if (failed.has(buffer) || sending.has(buffer)) return;
      if (reuse(buffer)) released++;
      else if (buffer === current) sent.add(buffer);
      else if (detach(buffer)) released++;
    });

  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: unknown; Key?: unknown; Body?: unknown; PartNumber?: unknown };
      const body = input.Body;
      if (
        context.commandName !== 'UploadPartCommand' ||
        input.Bucket !== location.bucket ||
        input.Key !== location.key ||
        !(body instanceof Uint8Array) ||
        body.buffer.byteLength <= partSize
      ) {
        return next(args);
      }
      const buffer = body.buffer;
      // Part n is cut once lib-storage has read past n parts of the body, and it concatenates every chunk
      // it has read into that part.
      if (typeof input.PartNumber === 'number') onCut(input.PartNumber * partSize);
      if (buffer !== current) {
        // A part from a new buffer: lib-storage has let go of the previous one's rest.
        if (current && sent.delete(current)) release(current);
        current = buffer;
      }
      sending.set(buffer, (sending.get(buffer) ?? 0) + 1);
      let ok = false;
      try {
        const output = await next(args);
        ok = true;
        return output;
      } finally {
        const left = (sending.get(buffer) ?? 1) - 1;
        if (left > 0) sending.set(buffer, left);
        else sending.delete(buffer);
        if (ok && left === 0) giveBack(buffer);
        else if (!ok) {
          failed.add(buffer);
          sent.delete(buffer);
        }
      }
    },
    { step: 'initialize', name },
  );
  return {
    stop() {
      s3.middlewareStack.remove(name);
    },
    released: () => released,
  };
}
