import { Transform, type TransformCallback } from 'node:stream';
import { copied, detach } from './detach.js';

/**
 * The zip's many small writes (headers, small files) are passed on in chunks of this size. Each chunk costs
 * lib-storage several promise hops, and the part it cuts ends up to one chunk past the part size (the rest
 * starts the next part): smaller chunks, more hops; larger chunks, larger part buffers.
 */
export const BODY_CHUNK = 256 * 1024;

/**
 * Where the patched lib-storage (patches/@aws-sdk__lib-storage@3.1169.0.patch) asks a body for the buffer
 * that a part's chunks are copied into. Unpatched, it concatenates them into a new buffer itself.
 */
export const CONCAT_PART = Symbol.for('lib-storage.concatPart');

/** A buffer the body fills, and what it holds. */
interface Filled {
  buffer: Buffer;
  /** Body offset where the buffer's last chunk starts: lib-storage is done with the buffer once past it. */
  lastChunk: number;
}

/**
 * An upload's body: copies the zip's writes into part buffers (a part plus a chunk long, allocated once and
 * reused) and hands lib-storage views of them, 256 KiB at a time, each starting where the last ended.
 *
 * lib-storage cuts a part once it holds more than a part's worth: the chunks it holds then are the part and
 * up to one chunk past it, and it keeps that rest to start the next part. The patched lib-storage asks the
 * body for the buffer to cut each part from (`CONCAT_PART`), and the body gives it the buffer those chunks
 * are already views of: nothing is copied. The body has copied the bytes past the part into the head of
 * the next buffer, so that buffer holds the next part whole in turn. The body takes a buffer back once S3
 * has its part (`reusePart`) and lib-storage has cut the next part, letting go of the rest.
 *
 * Unpatched, lib-storage copies each part's chunks into a new buffer. Once the body sees that (part 1 cut
 * without asking), it keeps one buffer and fills it again as soon as lib-storage has cut a part past its
 * last chunk (`consumedUpTo`), waiting for that if it comes to the buffer's end first.
 *
 * Patched, an upload therefore allocates as many buffers as parts are being filled or sent at once: two or
 * three in steady state, more at the start (until CreateMultipartUpload answers, each of lib-storage's
 * uploaders holds a part), and none is freed before the upload ends (`releaseParts`): freeing a 5 MiB
 * buffer makes glibc raise its mmap threshold to that size and its trim threshold to twice it, so every
 * later buffer would come from the allocator's heaps instead of a mapping of its own, and the heaps kept up
 * to 10 MiB free each (some 10 MiB of the GitHub Action's peak when lib-storage allocated a buffer per part).
 *
 * The readable side is in object mode so that each chunk reaches lib-storage as it is. lib-storage reads
 * the body with its async iterator, and a byte stream's iterator hands over everything buffered at once,
 * concatenated into a new buffer.
 */
export class UploadBody extends Transform {
  /** Bytes written so far. */
  bytes = 0;
  readonly #partSize: number;
  readonly #capacity: number;
  /** Buffers this body allocated. */
  readonly #parts = new WeakSet<ArrayBufferLike>();
  /** Buffers filled since last taken that lib-storage cut a part from. */
  readonly #cut = new WeakSet<ArrayBufferLike>();
  /** Buffers lib-storage was handed as parts and S3 may not have yet. */
  readonly #handedOut = new WeakSet<ArrayBufferLike>();
  /** The buffer of the last part cut: lib-storage holds its rest until it cuts the next one. */
  #lastCut: ArrayBufferLike | undefined;
  /** Buffers whose parts S3 has, waiting for lib-storage to cut the next part. */
  readonly #acked: Buffer[] = [];
  /** For a buffer that starts with the bytes past the previous buffer's part: that buffer. */
  readonly #continues = new WeakMap<ArrayBufferLike, ArrayBufferLike>();
  /** Full buffers whose part lib-storage has yet to cut (patched) or copy (unpatched), oldest first. */
  readonly #filled: Filled[] = [];
  readonly #free: Buffer[] = [];
  #released = false;
  /** The buffer being filled, holding the body from offset `#start` on. */
  #current: Buffer | undefined;
  #start = 0;
  #used = 0;
  /** Bytes of `#current` handed to lib-storage as chunks. */
  #pushed = 0;
  /** Chunks pushed that took a buffer past its part, and parts lib-storage has asked a buffer for. */
  #pastPart = 0;
  #partsCut = 0;
  /** The rest of a write, waiting for a buffer to be free. */
  #waiting: (() => void) | undefined;
  /** lib-storage cut a part without asking for its buffer: it copies every part. */
  #unpatched = false;

  /** `partSize`: lib-storage's part size. */
  constructor(partSize: number) {
    super({ writableHighWaterMark: BODY_CHUNK, readableObjectMode: true, readableHighWaterMark: 1 });
    this.#partSize = partSize;
    this.#capacity = partSize + BODY_CHUNK;
  }

  /**
   * A buffer holding `chunks` in order, `length` bytes long, for lib-storage to cut a part from. When the
   * chunks are the body's own, in order, that is the buffer they are views of; otherwise a buffer given back,
   * or a new one, that they are copied into.
   */
  [CONCAT_PART](chunks: readonly Uint8Array[], length: number): Buffer {
    let part = this.#whole(chunks, length);
    if (part) {
      this.#cut.add(part.buffer);
      // lib-storage's until S3 has the part, whatever lib-storage has cut past.
      const filled = this.#filled.findIndex(({ buffer }) => buffer.buffer === part!.buffer);
      if (filled >= 0) this.#filled.splice(filled, 1);
    } else if (length > this.#capacity) {
      return Buffer.concat(chunks, length);
    } else {
      part = this.#take();
      let at = 0;
      for (const chunk of chunks) {
        part.set(chunk, at);
        at += chunk.length;
      }
      part = part.subarray(0, length);
    }
    this.#handedOut.add(part.buffer);
    this.#partsCut++;
    // Cutting this part, lib-storage lets go of the previous one's rest.
    this.#lastCut = part.buffer;
    this.#free.push(...this.#acked.splice(0));
    this.#wake();
    return part;
  }

  /**
   * S3 has every part cut from `buffer`: the body may write it again once lib-storage has let go of its
   * rest. False when the buffer is not the body's.
   */
  reusePart(buffer: ArrayBufferLike): boolean {
    if (!this.#parts.has(buffer) || this.#released) return false;
    // Given back twice, it must still be handed out once: two parts in one buffer would overwrite each other.
    // And a buffer of the body's that was not handed out (a single chunk lib-storage sent as it is) is still
    // the body's: true, so that the caller leaves it alone.
    if (this.#handedOut.delete(buffer)) {
      const part = Buffer.from(buffer as ArrayBuffer);
      if (buffer === this.#lastCut) this.#acked.push(part);
      else {
        this.#free.push(part);
        this.#wake();
      }
    }
    return true;
  }

  /**
   * Unpatched lib-storage has cut its parts up to `offset`: it has copied every chunk up to the one that took
   * it past `offset` (which may start there) and holds none of them.
   */
  consumedUpTo(offset: number): void {
    if (!this.#unpatched && this.#partsCut === 0 && offset >= this.#partSize) {
      // Part 1 was cut without asking for a buffer. lib-storage copies each part, so one buffer is enough:
      // the body fills it, lib-storage copies the part, and the body fills it again. The one held for the
      // next part goes now. (A 5 MiB buffer freed raises glibc's thresholds, but lib-storage's own part
      // buffers, freed after every part, have raised them already.)
      this.#unpatched = true;
      for (const part of this.#free.splice(0)) detach(part.buffer);
    }
    while (this.#filled.length > 0 && this.#filled[0]!.lastChunk <= offset) {
      const { buffer } = this.#filled.shift()!;
      if (this.#released) continue;
      if (this.#unpatched && buffer !== this.#current) detach(buffer.buffer);
      else this.#free.push(buffer);
    }
    this.#wake();
  }

  /** The upload is over: frees the buffers given back. */
  releaseParts(): void {
    this.#released = true;
    for (const part of this.#free.splice(0)) detach(part.buffer);
    for (const part of this.#acked.splice(0)) detach(part.buffer);
  }

  override _transform(write: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#write(write, 0, callback);
  }

  #write(write: Buffer, from: number, callback: TransformCallback): void {
    for (let at = from; at < write.length; ) {
      if (this.#pushed > this.#partSize) {
        // S3 has the last part cut, and lib-storage is about to cut the one just pushed, letting go of the
        // last one's rest: wait for that buffer rather than allocate another.
        // Unpatched, the buffer being filled is free again once lib-storage has copied its part.
        const cutComing = this.#acked.length > 0 && this.#partsCut < this.#pastPart;
        if (this.#free.length === 0 && (cutComing || (this.#unpatched && this.#filled.length > 0))) {
          this.#waiting = () => this.#write(write, at, callback);
          return;
        }
        this.#next();
      }
      this.#current ??= this.#take();
      const n = write.copy(this.#current, this.#used, at, at + this.#pushed + BODY_CHUNK - this.#used);
      at += n;
      this.#used += n;
      if (this.#used - this.#pushed === BODY_CHUNK) this.#push();
    }
    copied(write);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#used > this.#pushed) this.#push();
    callback();
  }

  #take(): Buffer {
    const free = this.#free.pop();
    if (free) {
      this.#cut.delete(free.buffer);
      return free;
    }
    const buffer = Buffer.allocUnsafeSlow(this.#capacity);
    this.#parts.add(buffer.buffer);
    return buffer;
  }

  #push(): void {
    const chunk = this.#current!.subarray(this.#pushed, this.#used);
    const lastChunk = this.#start + this.#pushed;
    this.bytes += chunk.length;
    this.#pushed = this.#used;
    if (this.#pushed > this.#partSize) {
      // lib-storage cuts the part on this chunk.
      this.#pastPart++;
      this.#filled.push({ buffer: this.#current!, lastChunk });
    }
    this.push(chunk);
  }

  /** Goes on with a write that waited for a buffer, once lib-storage's own code has run. */
  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) setImmediate(waiting);
  }

  /**
   * The buffer is past its part: lib-storage cuts the part on the last chunk pushed, and the next buffer
   * starts with the bytes past it. Taken only when the next write comes, which may wait for lib-storage to
   * cut the part (see #write): the buffer of the part before is often free then.
   */
  #next(): void {
    const current = this.#current!;
    const next = this.#take();
    const rest = current.copy(next, 0, this.#partSize, this.#used);
    this.#continues.set(next.buffer, current.buffer);
    this.#current = next;
    this.#start += this.#partSize;
    this.#used = rest;
    this.#pushed = rest;
  }

  /**
   * The buffer `chunks` are consecutive views of, from its start, as lib-storage holds them when it cuts a
   * part: every chunk since the last cut, the first one perhaps the rest of the previous buffer (which this
   * one starts with a copy of).
   */
  #whole(chunks: readonly Uint8Array[], length: number): Buffer | undefined {
    const buffer = chunks.at(-1)?.buffer;
    if (!buffer || !this.#parts.has(buffer) || this.#cut.has(buffer)) return undefined;
    let at = 0;
    for (const [i, chunk] of chunks.entries()) {
      const inOrder = chunk.buffer === buffer && chunk.byteOffset === at;
      const rest =
        i === 0 && chunk.byteOffset === this.#partSize && this.#continues.get(buffer) === chunk.buffer;
      if (!inOrder && !rest) return undefined;
      at += chunk.length;
    }
    return at === length ? Buffer.from(buffer as ArrayBuffer, 0, length) : undefined;
  }
}
