import { Transform, type TransformCallback } from 'node:stream';
import { copied, detach } from './detach.js';

/**
 * The zip's many small writes (headers, small files) are passed on in chunks of this size. lib-storage
 * copies the chunks that make up a part into one buffer, which ends up to one chunk past the part (the rest
 * starts the next part), and holds it until S3 has the part: smaller chunks, smaller part buffers.
 */
export const BODY_CHUNK = 256 * 1024;

/**
 * Chunks kept for reuse beyond one part's worth. An upload needs about a part's worth of chunks in steady
 * state: lib-storage copies a part's chunks when it cuts the part, and they are reused for the next one.
 * More are allocated only while lib-storage holds more uncut, which happens at the start: until
 * CreateMultipartUpload answers, each of its parallel uploaders takes a part, so a zip that is quick to
 * produce (stored files) runs (queueSize + 1) parts ahead once. Kept, those chunks sat unused for the rest
 * of the upload (20 MiB of a stored upload's peak); past this many they are freed. Freeing any of the
 * steady-state ones would make the body allocate them again for every part, and the allocator's holes
 * cost more than the chunks.
 */
export const SPARE_CHUNKS = 4;

/**
 * Where the patched lib-storage (patches/@aws-sdk__lib-storage@3.1169.0.patch) asks a body for the buffer
 * that a part's chunks are copied into. Unpatched, it concatenates them into a new buffer itself.
 */
export const CONCAT_PART = Symbol.for('lib-storage.concatPart');

/**
 * An upload's body: copies the zip's writes into 256 KiB chunks and counts them. yazl writes two or three
 * small buffers per entry, and each chunk costs lib-storage several promise hops; one copy into larger
 * chunks costs less. Once copied, a write's buffer is done with (deflated and stored small files are
 * detached then, see detach.ts), and once lib-storage has cut a part past a chunk (`consumedUpTo`), the
 * chunk is reused for the writes that follow: the body allocates a handful of chunks instead of one per
 * MiB.
 *
 * lib-storage copies a part's chunks into one buffer, and the patched lib-storage asks the body for it
 * (`CONCAT_PART`): the body hands out buffers of one size, a part plus a chunk, and takes each back once S3
 * has its part (`reusePart`). Unpatched, lib-storage allocated a new 5 MiB buffer per part, and freeing the
 * first one made glibc raise its mmap threshold to that size and its trim threshold to twice it: every
 * later part buffer came from the allocator's heaps instead of a mapping of its own, and the heaps kept up
 * to 10 MiB free each. Measured on the GitHub Action's real job, that was some 10 MiB of its peak.
 *
 * The readable side is in object mode so that each chunk reaches lib-storage as it is. lib-storage reads
 * the body with its async iterator, and a byte stream's iterator hands over everything buffered at once,
 * concatenated into a new buffer: when the zip ran ahead (a large write makes several chunks), each read
 * allocated another 512 KiB or more that nothing freed until a full collection.
 */
export class UploadBody extends Transform {
  bytes = 0;
  #current: Buffer | undefined;
  #used = 0;
  /** Chunks pushed and perhaps not yet copied into a part, with the body offset each starts at. */
  readonly #pushed: { start: number; chunk: Buffer }[] = [];
  readonly #free: Buffer[] = [];
  readonly #freeMax: number;
  /** Part buffers handed out, and those given back for reuse. */
  readonly #parts = new WeakSet<ArrayBufferLike>();
  readonly #freeParts: Buffer[] = [];
  readonly #partCapacity: number;
  #partsReleased = false;

  /** `partSize`: lib-storage's part size, which sets how many chunks are worth keeping. */
  constructor(partSize: number) {
    super({ writableHighWaterMark: BODY_CHUNK, readableObjectMode: true, readableHighWaterMark: 1 });
    this.#freeMax = Math.ceil(partSize / BODY_CHUNK) + SPARE_CHUNKS;
    // lib-storage cuts a part once it holds more than a part: at most a part plus the chunk that took it
    // past, the rest of the previous part included.
    this.#partCapacity = partSize + BODY_CHUNK;
  }

  /**
   * A buffer holding `chunks` in order, `length` bytes long, for lib-storage to cut a part from: a part
   * buffer given back if there is one. Every buffer stays in use until given back, so only as many are
   * allocated as parts are in flight at once (more at the start: until CreateMultipartUpload answers, each
   * of lib-storage's uploaders holds a part). None is freed before the upload ends (`releaseParts`).
   */
  [CONCAT_PART](chunks: readonly Uint8Array[], length: number): Buffer {
    if (length > this.#partCapacity) return Buffer.concat(chunks, length);
    let part = this.#freeParts.pop();
    if (!part) {
      part = Buffer.allocUnsafeSlow(this.#partCapacity);
      this.#parts.add(part.buffer);
    }
    let at = 0;
    for (const chunk of chunks) {
      part.set(chunk, at);
      at += chunk.length;
    }
    return part.subarray(0, length);
  }

  /**
   * Takes back a part buffer that nothing reads any more (S3 has every part cut from it, and lib-storage has
   * copied its rest into the next). False when the buffer is not one this body handed out.
   */
  reusePart(buffer: ArrayBufferLike): boolean {
    if (!this.#parts.has(buffer) || this.#partsReleased) return false;
    // Given back twice, it must still be handed out once: two parts in one buffer would overwrite each other.
    if (!this.#freeParts.some((part) => part.buffer === buffer)) {
      this.#freeParts.push(Buffer.from(buffer as ArrayBuffer));
    }
    return true;
  }

  /** The upload is over: frees the part buffers given back. */
  releaseParts(): void {
    this.#partsReleased = true;
    for (const part of this.#freeParts.splice(0)) detach(part.buffer);
  }

  override _transform(write: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (let at = 0; at < write.length; ) {
      this.#current ??= this.#free.pop() ?? Buffer.allocUnsafeSlow(BODY_CHUNK);
      const n = write.copy(this.#current, this.#used, at);
      at += n;
      this.#used += n;
      if (this.#used === BODY_CHUNK) this.#pushCurrent();
    }
    copied(write);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#used > 0) this.#pushCurrent();
    callback();
  }

  /** lib-storage has copied every chunk starting before `offset` into its parts and holds none of them. */
  consumedUpTo(offset: number): void {
    while (this.#pushed.length > 0 && this.#pushed[0]!.start < offset) {
      const { chunk } = this.#pushed.shift()!;
      if (this.#free.length < this.#freeMax) this.#free.push(chunk);
      else detach(chunk.buffer);
    }
  }

  #pushCurrent(): void {
    const chunk = this.#current!;
    this.#pushed.push({ start: this.bytes, chunk });
    this.bytes += this.#used;
    const view = this.#used === chunk.length ? chunk : chunk.subarray(0, this.#used);
    this.#current = undefined;
    this.#used = 0;
    this.push(view);
  }
}
