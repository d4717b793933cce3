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
 * An upload's body: copies the zip's writes into 256 KiB chunks and counts them. yazl writes two or three
 * small buffers per entry, and each chunk costs lib-storage several promise hops; one copy into larger
 * chunks costs less. Once copied, a write's buffer is done with (deflated and stored small files are
 * detached then, see detach.ts), and once lib-storage has cut a part past a chunk (`consumedUpTo`), the
 * chunk is reused for the writes that follow: the body allocates a handful of chunks instead of one per
 * MiB.
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

  /** `partSize`: lib-storage's part size, which sets how many chunks are worth keeping. */
  constructor(partSize: number) {
    super({ writableHighWaterMark: BODY_CHUNK, readableObjectMode: true, readableHighWaterMark: 1 });
    this.#freeMax = Math.ceil(partSize / BODY_CHUNK) + SPARE_CHUNKS;
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
