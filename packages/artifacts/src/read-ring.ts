import { readFileSync, readSync } from 'node:fs';

/**
 * One buffer that small files are read into, in turn, instead of a new buffer per file: regions are taken
 * from the front and given back in the same order (oldest first). A file's bytes are only needed until it
 * is deflated, so reusing the memory spares V8 a few hundred MiB of short-lived buffers per artifact, and
 * the garbage collections they would cause.
 */
export class ReadRing {
  private readonly buffer: Buffer;
  /** Regions in use, oldest first, as [start, end) offsets. */
  private readonly regions: [number, number][] = [];
  private next = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  /**
   * Reads an open file expected to hold `size` bytes. Returns the bytes and whether they sit in the ring
   * (then `release()` must be called for it, in the order of the reads). A full ring, or a file that grew
   * since it was listed, gets a buffer of its own instead.
   */
  read(fd: number, size: number): { data: Buffer; inRing: boolean } {
    // One byte more than expected is asked for, so a file that grew shows without another read call.
    const start = this.take(size + 1);
    if (start === undefined) return { data: readFileSync(fd), inRing: false };
    const region = this.buffer.subarray(start, start + size + 1);
    let got = 0;
    while (got <= size) {
      const n = readSync(fd, region, got, size + 1 - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > size) {
      // Grew since it was listed: zip what is there now, as zip would.
      return { data: Buffer.concat([region, readFileSync(fd)]), inRing: true };
    }
    return { data: region.subarray(0, got), inRing: true };
  }

  /** Gives back the oldest region still in use. */
  release(): void {
    this.regions.shift();
    if (this.regions.length === 0) this.next = 0;
  }

  private take(size: number): number | undefined {
    const oldest = this.regions[0]?.[0];
    let start: number | undefined;
    if (oldest === undefined) start = size <= this.buffer.length ? 0 : undefined;
    else if (this.next > oldest) {
      // Free space runs from `next` to the end, then from 0 to the oldest region.
      if (this.next + size <= this.buffer.length) start = this.next;
      else if (size <= oldest) start = 0;
    } else if (this.next + size <= oldest) start = this.next;
    if (start === undefined) return undefined;
    this.regions.push([start, start + size]);
    this.next = start + size;
    return start;
  }
}
