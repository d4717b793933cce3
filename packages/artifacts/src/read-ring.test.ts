import { closeSync, promises as fs, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './__fixtures__/archives.js';
import { ReadRing } from './read-ring.js';

let work: string;
beforeAll(async () => {
  work = await tempDir();
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function readWith(ring: ReadRing, name: string, data: Buffer, listedSize = data.length) {
  await fs.writeFile(join(work, name), data);
  const fd = openSync(join(work, name), 'r');
  try {
    return ring.read(fd, listedSize);
  } finally {
    closeSync(fd);
  }
}

describe('ReadRing', () => {
  it('reuses its buffer in order, wraps around, and falls back to a buffer of its own when full', async () => {
    const ring = new ReadRing(100);
    const a = await readWith(ring, 'a', Buffer.alloc(40, 'a'));
    const b = await readWith(ring, 'b', Buffer.alloc(40, 'b'));
    expect([a.inRing, b.inRing]).toEqual([true, true]);
    const full = await readWith(ring, 'c', Buffer.alloc(30, 'c'));
    expect(full.inRing).toBe(false);
    expect(full.data.equals(Buffer.alloc(30, 'c'))).toBe(true);
    ring.release(); // a
    const d = await readWith(ring, 'd', Buffer.alloc(30, 'd')); // wraps to the front
    expect(d.inRing).toBe(true);
    expect(d.data.buffer).toBe(a.data.buffer);
    expect(b.data.equals(Buffer.alloc(40, 'b'))).toBe(true);
    expect(d.data.equals(Buffer.alloc(30, 'd'))).toBe(true);
    ring.release(); // b
    ring.release(); // d
    const e = await readWith(ring, 'e', Buffer.alloc(99, 'e')); // the whole ring, with its one spare byte
    expect(e.inRing).toBe(true);
  });

  it('reads what a file holds when it shrank or grew after it was listed', async () => {
    const ring = new ReadRing(100);
    expect((await readWith(ring, 'short', Buffer.from('abc'), 10)).data.toString()).toBe('abc');
    const grown = await readWith(ring, 'long', Buffer.from('abcdefgh'), 4);
    expect(grown.data.toString()).toBe('abcdefgh');
    expect(grown.inRing).toBe(true);
  });
});
