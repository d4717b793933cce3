import { close, open, read, writev } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { Segment } from './store.js';

/**
 * The two hot paths of the object store, kept free of per-chunk stream machinery and allocations: an upload
 * body written to its file, and an object (or a range of it) sent as a response body.
 */

/**
 * Writes incoming chunks to a new file, batching what arrives while a write is in flight into one `writev`
 * (fs.WriteStream does the same, with a smaller buffer and more per-chunk work).
 */
export class FileSink extends Writable {
  #fd = -1;
  #position = 0;
  #writing = false;
  #afterWrite: (() => void) | undefined;

  constructor(readonly path: string) {
    super({ highWaterMark: 4 << 20 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.path, 'w', (err, fd) => {
      this.#fd = fd;
      callback(err);
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#writeAll([chunk], callback);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (err?: Error | null) => void,
  ): void {
    this.#writeAll(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  #writeAll(buffers: Buffer[], callback: (err?: Error | null) => void): void {
    const position = this.#position;
    for (const b of buffers) this.#position += b.length;
    this.#writing = true;
    // libuv writes every buffer (it retries partial writes), so one callback means all bytes are down.
    writev(this.#fd, buffers, position, (err) => {
      this.#writing = false;
      const after = this.#afterWrite;
      this.#afterWrite = undefined;
      if (after) after();
      else callback(err);
    });
  }

  override _final(callback: (err?: Error | null) => void): void {
    const fd = this.#fd;
    this.#fd = -1;
    close(fd, (err) => callback(err));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd < 0) {
      callback(err);
      return;
    }
    // Never close the descriptor under a write still running in the thread pool (it could be reused).
    const shut = () => close(fd, () => callback(err));
    if (this.#writing) this.#afterWrite = shut;
    else shut();
  }
}

const CHUNK = 1 << 20;
/** Read buffers handed back once the socket has taken their bytes; a GET allocates none after warm-up. */
const spare: Buffer[] = [];
const takeBuffer = () => spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const giveBuffer = (b: Buffer) => {
  if (spare.length < 16) spare.push(b);
};

function openFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

function closeFile(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Reads `length` bytes at `position` into a pooled buffer; a short read means the file was cut. */
function readChunk(fd: number, position: number, length: number): Promise<Buffer> {
  const buffer = takeBuffer();
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, length, position, (err, n) => {
      if (err) reject(err);
      else if (n < length) reject(new Error('object data is shorter than its recorded size'));
      else resolve(buffer);
    }),
  );
}

/**
 * Sends bytes [start, end] (inclusive) of an object, spread over its segment files, as the response body
 * (headers already written), reading the next chunk while the socket takes the previous one. `budget`
 * bytes are sent at most, then the connection is dropped (an injected reset). Resolves when the body is
 * sent or the connection is gone; a read error destroys the response.
 */
export async function sendSegments(
  res: ServerResponse,
  segments: Segment[],
  start: number,
  end: number,
  budget = Number.POSITIVE_INFINITY,
): Promise<void> {
  let gone = res.destroyed;
  const onClose = () => {
    gone = true;
  };
  res.once('close', onClose);
  try {
    let offset = 0;
    for (const seg of segments) {
      const segStart = offset;
      offset += seg.size;
      if (gone) return;
      if (seg.size === 0 || offset - 1 < start || segStart > end) continue;
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, offset - 1) - segStart;
      const fd = await openFile(seg.file);
      let next: Promise<Buffer> | undefined;
      try {
        let position = from;
        const readAt = (p: number) => {
          const pending = readChunk(fd, p, Math.min(CHUNK, to + 1 - p));
          pending.catch(() => {}); // awaited below; this only keeps an early exit from leaving it unhandled
          return pending;
        };
        next = readAt(position);
        while (next && !gone) {
          const buffer = await next;
          const length = Math.min(CHUNK, to + 1 - position);
          position += length;
          next = position <= to ? readAt(position) : undefined;
          if (gone) return;
          if (budget <= length) {
            res.write(buffer.subarray(0, budget), () => res.socket?.destroy());
            gone = true;
            return;
          }
          budget -= length;
          const ok = res.write(length === CHUNK ? buffer : buffer.subarray(0, length), (err) => {
            if (!err) giveBuffer(buffer);
          });
          if (!ok) await drained(res);
        }
      } finally {
        await next?.catch(() => {});
        await closeFile(fd);
      }
    }
    if (!gone) await new Promise<void>((resolve) => res.end(resolve).once('close', resolve));
  } catch {
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
