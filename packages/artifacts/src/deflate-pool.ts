import { constants, createDeflateRaw, type DeflateRaw } from 'node:zlib';

/**
 * A few raw-deflate streams, reused from file to file (reset after each), that compress buffers in Node's
 * thread pool, several at once. Creating a zlib stream per small file (what `zlib.deflateRaw` does) costs
 * about a third as much CPU again as deflating it.
 */
export class DeflatePool {
  private readonly idle: DeflateRaw[] = [];
  private readonly all: DeflateRaw[] = [];
  private readonly waiting: ((deflater: DeflateRaw) => void)[] = [];

  constructor(size: number, level: number) {
    for (let i = 0; i < size; i++) {
      // Every write is a whole file, so it is finished in the same step (one trip to the thread pool, not
      // two). Output chunks are slices of one 64 KiB buffer until it is full, so small files share it.
      const deflater = createDeflateRaw({ level, chunkSize: 64 * 1024, flush: constants.Z_FINISH });
      this.all.push(deflater);
      this.idle.push(deflater);
    }
  }

  /** Raw DEFLATE of `data`, as zip's method 8 stores it. */
  async deflate(data: Buffer): Promise<Buffer> {
    const deflater = this.idle.pop() ?? (await new Promise<DeflateRaw>((r) => this.waiting.push(r)));
    const compressed = await deflateOne(deflater, data);
    const next = this.waiting.shift();
    if (next) next(deflater);
    else this.idle.push(deflater);
    return compressed;
  }

  close(): void {
    for (const deflater of this.all) deflater.close();
  }
}

function deflateOne(deflater: DeflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    };
    const onError = (error: Error) => {
      deflater.off('data', onData);
      reject(error);
    };
    deflater.on('data', onData);
    deflater.once('error', onError);
    // The callback runs once the chunk is fully processed, after every output chunk was emitted (the
    // stream is flowing); reset() then readies the stream for the next file.
    deflater.write(data, () => {
      deflater.off('data', onData);
      deflater.off('error', onError);
      deflater.reset();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    });
  });
}
