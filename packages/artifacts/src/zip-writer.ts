import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { constants, crc32, createDeflateRaw, type DeflateRaw } from 'node:zlib';

/** One thing to put in the zip, in the order given. */
export type ZipInput =
  | { kind: 'dir'; name: string; mode: number; mtime: number }
  | { kind: 'symlink'; name: string; mode: number; mtime: number; target: string }
  | { kind: 'file'; name: string; mode: number; mtime: number; size: number };

/** Files up to this size are read whole and deflated in one call, several at once. */
const SMALL_FILE = 1024 * 1024;
/** Read-and-compress window: files and bytes in flight ahead of the one being written. */
const AHEAD_FILES = 16;
const AHEAD_BYTES = 8 * 1024 * 1024;
const U32 = 0xffffffff;
/** Deflate engines working at once (libuv's pool has 4 threads; reads need some too). */
const ENGINES = 3;
/** Above this a streamed entry might not fit 32-bit sizes (deflate can grow incompressible data slightly). */
const ZIP64_ENTRY = 0xf0000000;

const S_IFDIR = 0o040000;
const VERSION_MADE_BY = (3 << 8) | 63; // unix, spec 6.3
const FLAG_UTF8 = 0x800;
const FLAG_DESCRIPTOR = 0x8;

interface Central {
  name: Buffer;
  flags: number;
  method: number;
  time: number;
  date: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  attrs: number;
}

interface Prepared {
  method: number;
  crc: number;
  size: number;
  data: Buffer;
}

/** Appends small buffers into 256 KiB blocks. */
class ByteList {
  readonly #blocks: Buffer[] = [];
  #used = 0;
  length = 0;

  push(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length) {
      let block = this.#blocks.at(-1);
      if (!block || this.#used === block.length) {
        block = Buffer.allocUnsafe(Math.max(256 * 1024, bytes.length));
        this.#blocks.push(block);
        this.#used = 0;
      }
      const n = bytes.copy(block, this.#used, at);
      this.#used += n;
      at += n;
    }
    this.length += bytes.length;
  }

  *chunks(): Generator<Buffer> {
    for (const [i, block] of this.#blocks.entries()) {
      yield i === this.#blocks.length - 1 ? block.subarray(0, this.#used) : block;
    }
  }
}

function dosDateTime(ms: number): { date: number; time: number } {
  const d = new Date(ms);
  // DOS time is local and has 2-second resolution, as `zip` writes it.
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  return {
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
  };
}

function localHeader(c: Central, zip64: boolean): Buffer {
  const extra = zip64 ? 20 : 0;
  const h = Buffer.alloc(30 + c.name.length + extra);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(zip64 ? 45 : 20, 4);
  h.writeUInt16LE(c.flags, 6);
  h.writeUInt16LE(c.method, 8);
  h.writeUInt16LE(c.time, 10);
  h.writeUInt16LE(c.date, 12);
  const descriptor = (c.flags & FLAG_DESCRIPTOR) !== 0;
  h.writeUInt32LE(descriptor ? 0 : c.crc, 14);
  h.writeUInt32LE(zip64 ? U32 : descriptor ? 0 : c.compressed, 18);
  h.writeUInt32LE(zip64 ? U32 : descriptor ? 0 : c.size, 22);
  h.writeUInt16LE(c.name.length, 26);
  h.writeUInt16LE(extra, 28);
  c.name.copy(h, 30);
  if (zip64) {
    // Zip64 extra with zero sizes; the real ones follow in the 64-bit data descriptor.
    h.writeUInt16LE(0x0001, 30 + c.name.length);
    h.writeUInt16LE(16, 32 + c.name.length);
  }
  return h;
}

function centralHeader(c: Central): Buffer {
  const big = [c.size >= U32, c.compressed >= U32, c.offset >= U32];
  const extraLen = big.some(Boolean) ? 4 + 8 * big.filter(Boolean).length : 0;
  const h = Buffer.alloc(46 + c.name.length + extraLen);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(VERSION_MADE_BY, 4);
  h.writeUInt16LE(extraLen ? 45 : 20, 6);
  h.writeUInt16LE(c.flags, 8);
  h.writeUInt16LE(c.method, 10);
  h.writeUInt16LE(c.time, 12);
  h.writeUInt16LE(c.date, 14);
  h.writeUInt32LE(c.crc, 16);
  h.writeUInt32LE(big[1] ? U32 : c.compressed, 20);
  h.writeUInt32LE(big[0] ? U32 : c.size, 24);
  h.writeUInt16LE(c.name.length, 28);
  h.writeUInt16LE(extraLen, 30);
  h.writeUInt32LE(c.attrs >>> 0, 38);
  h.writeUInt32LE(big[2] ? U32 : c.offset, 42);
  c.name.copy(h, 46);
  if (extraLen) {
    let p = 46 + c.name.length;
    h.writeUInt16LE(0x0001, p);
    h.writeUInt16LE(extraLen - 4, p + 2);
    p += 4;
    // Order fixed by APPNOTE 4.5.3: uncompressed, compressed, offset; only those that overflowed.
    for (const [i, v] of [c.size, c.compressed, c.offset].entries()) {
      if (big[i]) {
        h.writeBigUInt64LE(BigInt(v), p);
        p += 8;
      }
    }
  }
  return h;
}

function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const zip64 = count >= 0xffff || cdOffset >= U32 || cdSize >= U32;
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(VERSION_MADE_BY, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(Math.min(cdSize, U32), 12);
  end.writeUInt32LE(Math.min(cdOffset, U32), 16);
  parts.push(end);
  return Buffer.concat(parts);
}

/**
 * A few long-lived deflate engines, reset between files. Node's one-shot deflateRaw builds a stream and a
 * zlib state per call, about 0.2 ms each: on 20,000 small files that alone costs seconds. Reusing engines
 * removes it, and running several at once spreads compression over libuv's pool (more than one core).
 */
class DeflatePool {
  readonly #idle: DeflateRaw[] = [];
  readonly #waiting: ((engine: DeflateRaw) => void)[] = [];
  readonly #all: DeflateRaw[] = [];

  constructor(
    readonly level: number,
    readonly size: number,
  ) {}

  async deflate(input: Buffer): Promise<Buffer> {
    const engine = await this.#acquire();
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    engine.on('data', onData);
    try {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          engine.off('error', reject);
          resolve();
        };
        engine.once('error', reject);
        const internal = engine as unknown as {
          _processChunk?: (b: Buffer, flag: number, cb: () => void) => void;
        };
        // One pool job per file: _processChunk (kept by Node for compatibility) runs the input with Z_FINISH
        // directly; write() + flush() would queue two. Fall back to the public pair if it ever goes away.
        if (typeof internal._processChunk === 'function')
          internal._processChunk.call(engine, input, constants.Z_FINISH, done);
        else {
          engine.write(input);
          engine.flush(constants.Z_FINISH, done);
        }
      });
      engine.reset();
      return Buffer.concat(chunks);
    } finally {
      engine.off('data', onData);
      this.#release(engine);
    }
  }

  #acquire(): Promise<DeflateRaw> {
    const engine = this.#idle.pop();
    if (engine) return Promise.resolve(engine);
    if (this.#all.length < this.size) {
      const created = createDeflateRaw({ level: this.level, chunkSize: 64 * 1024 });
      this.#all.push(created);
      return Promise.resolve(created);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(engine: DeflateRaw): void {
    const next = this.#waiting.shift();
    if (next) next(engine);
    else this.#idle.push(engine);
  }

  close(): void {
    for (const engine of this.#all) engine.close();
  }
}

async function prepareSmall(path: string, size: number, level: number, pool: DeflatePool): Promise<Prepared> {
  // Read on this thread, synchronously: open, one read, close. Sending three tiny calls per file through
  // libuv's pool costs more in thread wake-ups than the calls; the pool is kept for deflate, the real work.
  const raw = Buffer.allocUnsafe(size);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < size) {
      const n = readSync(fd, raw, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    if (done !== size) throw new Error(`"${path}" shrank while it was being zipped`);
  } finally {
    closeSync(fd);
  }
  const crc = crc32(raw);
  if (level > 0 && raw.length > 0) {
    const packed = await pool.deflate(raw);
    // Like `zip`, store what deflate cannot shrink.
    if (packed.length < raw.length) return { method: 8, crc, size: raw.length, data: packed };
  }
  return { method: 0, crc, size: raw.length, data: raw };
}

/**
 * Writes a zip as a byte stream, in the given order. Small files are read and deflated ahead, several at
 * once on libuv's pool, which is what lets it keep up with (and on more than one core beat) `zip -r`; large
 * files are streamed with a data descriptor, so memory stays bounded whatever the sizes. Zip64 records are
 * added only when counts, sizes or offsets need them.
 */
export async function* writeZip(root: string, inputs: ZipInput[], level: number): AsyncGenerator<Buffer> {
  const pool = new DeflatePool(level, ENGINES);
  try {
    yield* entries(root, inputs, level, pool);
  } finally {
    pool.close();
  }
}

async function* entries(
  root: string,
  inputs: ZipInput[],
  level: number,
  pool: DeflatePool,
): AsyncGenerator<Buffer> {
  const ahead = new Map<number, Promise<Prepared>>();
  let next = 0;
  let aheadBytes = 0;
  const fill = (from: number) => {
    while (next < inputs.length && next < from + AHEAD_FILES && aheadBytes < AHEAD_BYTES) {
      const input = inputs[next]!;
      if (input.kind === 'file' && input.size <= SMALL_FILE) {
        const job = prepareSmall(join(root, input.name), input.size, level, pool);
        job.catch(() => {}); // reported when its turn comes
        ahead.set(next, job);
        aheadBytes += input.size;
      }
      next++;
    }
  };

  const central = new ByteList();
  let count = 0;
  let offset = 0;
  for (let i = 0; i < inputs.length; i++) {
    fill(i);
    const input = inputs[i]!;
    const { date, time } = dosDateTime(input.mtime);
    const c: Central = {
      name: Buffer.from(input.kind === 'dir' ? `${input.name}/` : input.name, 'utf8'),
      flags: FLAG_UTF8,
      method: 0,
      time,
      date,
      crc: 0,
      compressed: 0,
      size: 0,
      offset,
      attrs: ((input.mode & 0xffff) << 16) >>> 0,
    };
    if (input.kind === 'dir') {
      c.attrs = (((input.mode | S_IFDIR) & 0xffff) << 16) | 0x10; // plus the MS-DOS directory bit
      const h = localHeader(c, false);
      offset += h.length;
      yield h;
    } else if (input.kind === 'symlink') {
      const data = Buffer.from(input.target, 'utf8');
      Object.assign(c, { crc: crc32(data), size: data.length, compressed: data.length });
      const h = localHeader(c, false);
      offset += h.length + data.length;
      yield Buffer.concat([h, data]);
    } else if (ahead.has(i)) {
      const job = ahead.get(i)!;
      ahead.delete(i);
      let prepared: Prepared;
      try {
        prepared = await job;
      } finally {
        aheadBytes -= input.size;
      }
      Object.assign(c, {
        method: prepared.method,
        crc: prepared.crc,
        size: prepared.size,
        compressed: prepared.data.length,
      });
      const h = localHeader(c, false);
      offset += h.length + prepared.data.length;
      yield h;
      if (prepared.data.length > 0) yield prepared.data;
    } else {
      const zip64 = input.size >= ZIP64_ENTRY;
      c.flags |= FLAG_DESCRIPTOR;
      c.method = level > 0 ? 8 : 0;
      const h = localHeader(c, zip64);
      offset += h.length;
      yield h;
      const raw = createReadStream(join(root, input.name), { highWaterMark: 256 * 1024 });
      let crc = 0;
      let size = 0;
      raw.on('data', (chunk) => {
        crc = crc32(chunk as Buffer, crc);
        size += chunk.length;
      });
      let compressed = 0;
      const out = level > 0 ? raw.pipe(createDeflateRaw({ level, chunkSize: 256 * 1024 })) : raw;
      if (out !== raw) raw.on('error', (error) => out.destroy(error));
      for await (const chunk of out as AsyncIterable<Buffer>) {
        compressed += chunk.length;
        yield chunk;
      }
      if (size !== input.size) throw new Error(`"${input.name}" changed size while it was being zipped`);
      Object.assign(c, { crc, size, compressed });
      const d = Buffer.alloc(zip64 ? 24 : 16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      if (zip64) {
        d.writeBigUInt64LE(BigInt(compressed), 8);
        d.writeBigUInt64LE(BigInt(size), 16);
      } else {
        d.writeUInt32LE(compressed, 8);
        d.writeUInt32LE(size, 12);
      }
      offset += compressed + d.length;
      yield d;
    }
    // Packed right away: 20,000 small records as bytes weigh far less than as objects.
    central.push(centralHeader(c));
    count++;
  }
  const cdOffset = offset;
  const cdSize = central.length;
  for (const chunk of central.chunks()) yield chunk;
  yield endRecords(count, cdOffset, cdSize);
}
