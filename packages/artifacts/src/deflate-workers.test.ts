import { randomBytes } from 'node:crypto';
import { constants, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DeflateWorkers } from './deflate-workers.js';

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

describe('DeflateWorkers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipewright-deflate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('works in a process started with --expose-gc, whose threads have a global gc already', async () => {
    // V8 flags are process-wide: set here, the threads' contexts get `gc` as under `node --expose-gc`.
    setFlagsFromString('--expose-gc');
    const workers = new DeflateWorkers(6, FLAGS, 1);
    try {
      const path = join(dir, 'exposed.txt');
      const content = Buffer.from('collected '.repeat(1000));
      writeFileSync(path, content);
      const ticket = workers.submit(path, content.length);
      ticket.send();
      const result = await ticket.result;
      expect(inflateRawSync(result.compressed).equals(content)).toBe(true);
    } finally {
      setFlagsFromString('--no-expose-gc');
      await workers.close();
    }
  });

  it('reads, checksums and deflates files in threads, each result to its own file, across batches', async () => {
    const workers = new DeflateWorkers(6, FLAGS, 2);
    try {
      const files = Array.from({ length: 100 }, (_, i) => {
        const path = join(dir, `f${i}.txt`);
        const content = Buffer.from(`file ${i} `.repeat(i * 50 + 1));
        writeFileSync(path, content);
        return { path, content };
      });
      const tickets = files.map((f) => workers.submit(f.path, f.content.length));
      for (const t of tickets) t.send();
      const results = await Promise.all(tickets.map((t) => t.result));
      results.forEach((r, i) => {
        const { content } = files[i]!;
        expect(r.size).toBe(content.length);
        expect(r.crc32).toBe(crc32(content));
        expect(inflateRawSync(r.compressed).equals(content)).toBe(true);
      });
      // Repetitive text compresses: proof that the bytes were deflated, not stored.
      expect(results[99]!.compressed.length).toBeLessThan(files[99]!.content.length / 10);
    } finally {
      await workers.close();
    }
  });

  it('fails only the file that cannot be read, with its error code, and refuses a symlink', async () => {
    const workers = new DeflateWorkers(6, FLAGS, 1);
    try {
      const good = join(dir, 'good.txt');
      writeFileSync(good, 'good');
      mkdirSync(join(dir, 'sub'), { recursive: true });
      const link = join(dir, 'sub', 'link');
      symlinkSync(good, link);
      const missing = workers.submit(join(dir, 'missing.txt'), 1);
      const linked = workers.submit(link, 4);
      const fine = workers.submit(good, 4);
      for (const t of [missing, linked, fine]) t.send();
      await expect(missing.result).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(linked.result).rejects.toMatchObject({ code: 'ELOOP' });
      expect(inflateRawSync((await fine.result).compressed).toString()).toBe('good');
    } finally {
      await workers.close();
    }
  });

  it('starts threads as work needs them: one file, one thread', async () => {
    const workers = new DeflateWorkers(6, FLAGS, 4);
    try {
      expect(workers.threads).toBe(0);
      const path = join(dir, 'one.txt');
      writeFileSync(path, 'one');
      expect(inflateRawSync((await workers.submit(path, 3).result).compressed).toString()).toBe('one');
      expect(workers.threads).toBe(1);
    } finally {
      await workers.close();
    }
  });

  it('deflates through one reused stream to the bytes deflateRawSync gives, and falls back to deflateRawSync', async () => {
    // Sizes around the thread's buffers: empty, tiny, one larger than its 1 MiB read buffer, and one listed
    // far smaller than it is (its batch's result buffer must grow).
    const contents = [
      Buffer.alloc(0),
      Buffer.from('a'),
      randomBytes(100 * 1024),
      Buffer.from('repeated line\n'.repeat(45_000)),
      Buffer.concat([randomBytes(1024 * 1024), Buffer.from('tail '.repeat(20_000))]),
      randomBytes(300 * 1024),
    ];
    const files = contents.map((content, i) => {
      const path = join(dir, `sized-${i}.bin`);
      writeFileSync(path, content);
      return { path, content, listed: i === 5 ? 1 : content.length };
    });
    for (const reuse of [true, false]) {
      const workers = new DeflateWorkers(6, FLAGS, 1, reuse);
      try {
        // Twice over, so that each file also follows another one through the same stream.
        const tickets = [...files, ...files].map((f) => workers.submit(f.path, f.listed));
        for (const t of tickets) t.send();
        const results = await Promise.all(tickets.map((t) => t.result));
        expect(workers.reusedStream).toBe(reuse);
        results.forEach((r, i) => {
          const { content } = files[i % files.length]!;
          expect(r.size).toBe(content.length);
          expect(r.crc32).toBe(crc32(content));
          expect(r.compressed.equals(deflateRawSync(content, { level: 6 }))).toBe(true);
        });
      } finally {
        await workers.close();
      }
    }
  });

  it('rejects what is still queued when closed', async () => {
    const workers = new DeflateWorkers(6, FLAGS, 1);
    const path = join(dir, 'queued.txt');
    writeFileSync(path, 'x');
    // The first goes to the idle thread at once; the second waits for its batch to fill.
    const first = workers.submit(path, 1);
    const second = workers.submit(path, 1);
    second.result.catch(() => {});
    await first.result;
    await workers.close();
    await expect(second.result).rejects.toThrow('the zip was stopped');
  });
});
