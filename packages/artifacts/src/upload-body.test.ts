import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detachAfterCopies } from './detach.js';
import { BODY_CHUNK, CONCAT_PART, UploadBody } from './upload-body.js';

/** A part of four chunks. */
const PART = 4 * BODY_CHUNK;

/** Reads the body as lib-storage does: with its async iterator. */
async function readAll(body: UploadBody): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return chunks;
}

const pattern = (bytes: number, seed: number) =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff));

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Cuts the body into parts as lib-storage 3.1169's getChunkStream does: patched, through the body's
 * CONCAT_PART; unpatched, with Buffer.concat. `sent(part, number, stored)` plays the upload's middleware;
 * `stored()` plays S3 answering: the part's bytes are what S3 keeps, and the body gets the buffer back.
 * Returns what S3 kept of each part (a part never answered is kept as it is at the end).
 */
async function cut(
  body: UploadBody,
  patched: boolean,
  sent: (part: Buffer, number: number, stored: () => void) => void,
  chunkBuffers = new Set<ArrayBufferLike>(),
): Promise<Buffer[]> {
  const concat = (chunks: Uint8Array[], length: number) =>
    patched ? body[CONCAT_PART](chunks, length) : Buffer.concat(chunks, length);
  const parts: Buffer[] = [];
  const kept: Buffer[] = [];
  const send = (part: Buffer) => {
    const index = parts.push(part) - 1;
    sent(part, parts.length, () => {
      kept[index] ??= Buffer.from(part);
      body.reusePart(part.buffer);
    });
  };
  let held: Uint8Array[] = [];
  let length = 0;
  for await (const datum of body) {
    held.push(datum as Buffer);
    chunkBuffers.add((datum as Buffer).buffer);
    length += (datum as Buffer).length;
    while (length > PART) {
      const whole = held.length > 1 ? concat(held, length) : (held[0] as Buffer);
      send(whole.subarray(0, PART));
      held = [whole.subarray(PART)];
      length = held[0]!.length;
    }
  }
  send(held.length !== 1 ? concat(held, length) : (held[0] as Buffer));
  return parts.map((part, i) => kept[i] ?? Buffer.from(part));
}

/** Writes `data` in writes of `size`, letting the reader run between them as the zip's pace does. */
async function writeAll(body: UploadBody, data: Buffer, size: number): Promise<void> {
  for (let at = 0; at < data.length; at += size) {
    if (!body.write(data.subarray(at, at + size)))
      await new Promise((resolve) => body.once('drain', resolve));
    await tick();
  }
  body.end();
}

describe('UploadBody', () => {
  it('hands over views of its part buffers one by one, each starting where the last ended', async () => {
    const body = new UploadBody(PART);
    const data = Buffer.concat([pattern(4 * BODY_CHUNK + 1000, 1), pattern(300, 2)]);
    // One large write fills several chunks before anything reads them.
    body.write(data.subarray(0, 4 * BODY_CHUNK + 1000));
    body.end(data.subarray(4 * BODY_CHUNK + 1000));
    const chunks = await readAll(body);
    expect(chunks.map((c) => c.length)).toEqual([BODY_CHUNK, BODY_CHUNK, BODY_CHUNK, BODY_CHUNK, 1300]);
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(1);
    expect(chunks.map((c) => c.byteOffset)).toEqual([0, 1, 2, 3, 4].map((i) => i * BODY_CHUNK));
    expect(chunks[0]!.buffer.byteLength).toBe(PART + BODY_CHUNK);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(body.bytes).toBe(data.length);
  });

  it('gives patched lib-storage each part in the buffer its chunks are views of, reused once S3 has it', async () => {
    const body = new UploadBody(PART);
    // Writes that do not line up with the chunks or the parts: ten parts and some.
    const data = randomBytes(10 * PART + 12_345);
    const buffers = new Set<ArrayBufferLike>();
    const chunkBuffers = new Set<ArrayBufferLike>();
    const writing = writeAll(body, data, 100_000);
    const parts = await cut(
      body,
      true,
      (part, _number, stored) => {
        buffers.add(part.buffer);
        // S3 has it a moment later.
        setImmediate(stored);
      },
      chunkBuffers,
    );
    await writing;
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(parts).toHaveLength(11);
    // S3 is quicker than the writes here: the buffer being filled and the one being sent. Each part's buffer
    // is taken again only once lib-storage has cut the next part and let go of its rest.
    expect(buffers.size).toBe(2);
    // Nothing copied: each part is cut from the buffer its chunks are views of.
    expect([...buffers].every((buffer) => chunkBuffers.has(buffer))).toBe(true);
    expect(chunkBuffers.size).toBe(buffers.size);
  });

  it('never waits for a cut that is not coming when S3 answers a part before the one cut before it', async () => {
    const body = new UploadBody(PART);
    const data = randomBytes(12 * PART + 999);
    // Writes of a chunk each: the next write comes only after lib-storage has read, cut and sent the part.
    const writing = writeAll(body, data, BODY_CHUNK);
    // S3 answers the even parts at once and the odd ones not before the end: when a part has just been cut
    // and answered, the one before it is still in flight, and no cut is coming to free a buffer.
    const parts = await cut(body, true, (_part, number, stored) => {
      if (number % 2 === 0) stored();
    });
    await writing;
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('fills one buffer again and again once it sees that lib-storage copies each part (unpatched)', async () => {
    const body = new UploadBody(PART);
    const data = randomBytes(10 * PART + 777);
    const chunkBuffers = new Set<ArrayBufferLike>();
    const reading = cut(
      body,
      false,
      (_part, number, stored) => {
        body.consumedUpTo(number * PART);
        setImmediate(stored);
      },
      chunkBuffers,
    );
    const writing = writeAll(body, data, 70_000);
    const parts = await reading;
    await writing;
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    // Two until part 1 is cut without asking for a buffer; then the first is freed and the second refilled.
    const [first, second] = [...chunkBuffers];
    expect(chunkBuffers.size).toBe(2);
    expect(first!.byteLength).toBe(0);
    expect(second!.byteLength).toBe(PART + BODY_CHUNK);
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
    await tick();
    expect(file.buffer.byteLength).toBe(0);
    expect(chunks[0]!.equals(pattern(20_000, 5))).toBe(true);
  });
});

describe('UploadBody part buffers for chunks not its own', () => {
  const chunksOf = (seed: number) => [
    pattern(1000, seed),
    pattern(BODY_CHUNK, seed + 1),
    pattern(77, seed + 2),
  ];
  const length = 1000 + BODY_CHUNK + 77;

  it('copies them into a buffer it hands out again once S3 has the part and the next one is cut', () => {
    const body = new UploadBody(PART);
    const chunks = chunksOf(1);
    const first = body[CONCAT_PART](chunks, length);
    expect(first.equals(Buffer.concat(chunks))).toBe(true);
    // Room for a part and the chunk that took lib-storage past it.
    expect(first.buffer.byteLength).toBe(PART + BODY_CHUNK);

    // S3 has it, but lib-storage still holds its rest: the next part gets a buffer of its own.
    expect(body.reusePart(first.buffer)).toBe(true);
    const second = body[CONCAT_PART](chunksOf(4), length);
    expect(second.buffer).not.toBe(first.buffer);
    expect(first.equals(Buffer.concat(chunks))).toBe(true);

    // Cutting the second let go of the first's rest.
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

    const part = body[CONCAT_PART](chunksOf(1), length);
    const held = body[CONCAT_PART](chunksOf(2), length);
    const late = body[CONCAT_PART](chunksOf(3), length);
    expect(body.reusePart(part.buffer)).toBe(true);
    // The last part cut: S3 has it, lib-storage holds its rest until the upload ends.
    expect(body.reusePart(late.buffer)).toBe(true);
    body.releaseParts();
    expect(part.buffer.byteLength).toBe(0);
    expect(late.buffer.byteLength).toBe(0);
    // A part that S3 answers after the end is left to the garbage collector's own time.
    expect(body.reusePart(held.buffer)).toBe(false);
    expect(held.buffer.byteLength).toBe(PART + BODY_CHUNK);
  });
});
