import { describe, expect, it } from 'vitest';
import { detachAfterCopies } from './detach.js';
import { BODY_CHUNK, SPARE_CHUNKS, UploadBody } from './upload-body.js';

/** A part of four chunks: the body keeps four plus SPARE_CHUNKS for reuse. */
const PART = 4 * BODY_CHUNK;
const KEPT = 4 + SPARE_CHUNKS;

/** Reads the body as lib-storage does: with its async iterator. */
async function readAll(body: UploadBody): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return chunks;
}

const pattern = (bytes: number, seed: number) =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff));

describe('UploadBody', () => {
  it('hands over its own chunks one by one, never a concatenation of them', async () => {
    const body = new UploadBody(PART);
    const data = Buffer.concat([pattern(4 * BODY_CHUNK + 1000, 1), pattern(300, 2)]);
    // One large write fills several chunks before anything reads them.
    body.write(data.subarray(0, 4 * BODY_CHUNK + 1000));
    body.end(data.subarray(4 * BODY_CHUNK + 1000));
    const chunks = await readAll(body);
    expect(chunks.map((c) => c.length)).toEqual([BODY_CHUNK, BODY_CHUNK, BODY_CHUNK, BODY_CHUNK, 1300]);
    for (const chunk of chunks) expect(chunk.buffer.byteLength).toBe(BODY_CHUNK);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(body.bytes).toBe(data.length);
  });

  it('keeps a part and a few chunks for reuse once consumed, and frees the others', async () => {
    const body = new UploadBody(PART);
    const total = (KEPT + 5) * BODY_CHUNK;
    const reading = readAll(body);
    body.write(pattern(total, 3));
    await new Promise((resolve) => setImmediate(resolve));
    body.consumedUpTo(total);
    body.end(pattern(10, 4));
    const chunks = await reading;
    const first = chunks.slice(0, KEPT + 5);
    expect(first.filter((c) => c.buffer.byteLength === 0)).toHaveLength(5);
    const kept = first.filter((c) => c.buffer.byteLength === BODY_CHUNK).map((c) => c.buffer);
    expect(kept).toHaveLength(KEPT);
    // The write after the cut goes into a kept chunk instead of a new one.
    expect(kept).toContain(chunks.at(-1)!.buffer);
  });

  it('frees a write declared to be copied once, after copying it', async () => {
    const body = new UploadBody(PART);
    // A buffer of its own, as the zip's are: Node 24 slices Buffer.from copies out of a shared pool.
    const file = Buffer.allocUnsafeSlow(20_000);
    pattern(20_000, 5).copy(file);
    detachAfterCopies(file.buffer, 1);
    const reading = readAll(body);
    body.end(file);
    const chunks = await reading;
    await new Promise((resolve) => setImmediate(resolve));
    expect(file.buffer.byteLength).toBe(0);
    expect(chunks[0]!.equals(pattern(20_000, 5))).toBe(true);
  });
});
