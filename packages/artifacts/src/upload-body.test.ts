import { describe, expect, it } from 'vitest';
import { detachAfterCopies } from './detach.js';
import { BODY_CHUNK, CONCAT_PART, SPARE_CHUNKS, UploadBody } from './upload-body.js';

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

describe('UploadBody part buffers', () => {
  const chunksOf = (seed: number) => [
    pattern(1000, seed),
    pattern(BODY_CHUNK, seed + 1),
    pattern(77, seed + 2),
  ];

  it('copies the chunks lib-storage cuts a part from into a buffer it hands out again once given back', () => {
    const body = new UploadBody(PART);
    const chunks = chunksOf(1);
    const length = 1000 + BODY_CHUNK + 77;
    const first = body[CONCAT_PART](chunks, length);
    expect(first.equals(Buffer.concat(chunks))).toBe(true);
    // Room for a part and the chunk that took lib-storage past it.
    expect(first.buffer.byteLength).toBe(PART + BODY_CHUNK);

    // Not given back: the next part gets a buffer of its own.
    const second = body[CONCAT_PART](chunksOf(4), length);
    expect(second.buffer).not.toBe(first.buffer);
    expect(first.equals(Buffer.concat(chunks))).toBe(true);

    expect(body.reusePart(first.buffer)).toBe(true);
    expect(body.reusePart(first.buffer)).toBe(true);
    const third = body[CONCAT_PART](chunksOf(7), length);
    expect(third.buffer).toBe(first.buffer);
    expect(third.equals(Buffer.concat(chunksOf(7)))).toBe(true);
    // Given back twice, still handed out once.
    expect(body[CONCAT_PART](chunksOf(9), length).buffer).not.toBe(first.buffer);
  });

  it('refuses buffers it did not hand out, and frees those given back when the upload ends', () => {
    const body = new UploadBody(PART);
    expect(body.reusePart(Buffer.alloc(PART + BODY_CHUNK).buffer)).toBe(false);
    // More than a part and a chunk (not something lib-storage asks for): a plain concatenation.
    const large = body[CONCAT_PART]([pattern(PART + BODY_CHUNK + 1, 1)], PART + BODY_CHUNK + 1);
    expect(body.reusePart(large.buffer)).toBe(false);

    const part = body[CONCAT_PART](chunksOf(1), 1000 + BODY_CHUNK + 77);
    const late = body[CONCAT_PART](chunksOf(2), 1000 + BODY_CHUNK + 77);
    expect(body.reusePart(part.buffer)).toBe(true);
    body.releaseParts();
    expect(part.buffer.byteLength).toBe(0);
    // A part that S3 answers after the end is left to the garbage collector's own time.
    expect(body.reusePart(late.buffer)).toBe(false);
    expect(late.buffer.byteLength).toBe(PART + BODY_CHUNK);
  });
});
