import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CREATE_FLAGS } from './tree-writer.js';
import { type SmallFileFailure, SmallFileWorkers } from './zip-workers.js';

interface Case {
  name: string;
  content: Buffer;
  /** The compressed bytes as the zip holds them, and what its header declares. */
  raw: Buffer;
  size: number;
  crc: number;
  deflated: boolean;
  /** The failure expected, or undefined when the file must be written with `content`. */
  fails?: string;
}

const good = (name: string, content: Buffer, deflated = true): Case => ({
  name,
  content,
  raw: deflated ? deflateRawSync(content) : content,
  size: content.length,
  crc: crc32(content),
  deflated,
});

/** Entries that must extract, each followed by a damaged one, so that every entry after a failure is checked. */
function cases(): Case[] {
  const text = Buffer.from('small file line\n'.repeat(2000));
  const big = Buffer.concat([randomBytes(900 * 1024), Buffer.from('x'.repeat(100 * 1024))]);
  const damaged = Buffer.from(deflateRawSync(text));
  damaged.fill(0xff, 10, 40);
  return [
    good('empty', Buffer.alloc(0)),
    good('text', text),
    { ...good('lies-small', text), size: text.length - 1, fails: 'inflates past its declared size' },
    good('random', randomBytes(100 * 1024)),
    { ...good('truncated', text), raw: deflateRawSync(text).subarray(0, 50), fails: 'is damaged' },
    good('one-mib', big),
    { ...good('garbage', text), raw: damaged, fails: 'is damaged' },
    good('stored', Buffer.from('stored as it is'), false),
    { ...good('bad-crc', text), crc: (crc32(text) + 1) >>> 0, fails: 'fails its CRC-32 check' },
    { ...good('lies-large', text), size: text.length + 10, fails: 'has 32000 bytes, its header says 32010' },
    good('after-all', Buffer.from('still fine after the failures')),
  ];
}

describe('SmallFileWorkers', () => {
  const root = mkdtempSync(join(tmpdir(), 'pipewright-zip-workers-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // threads 0: every batch runs on this thread (the path taken when all threads are busy).
  for (const threads of [1, 0]) {
    for (const reuse of [true, false]) {
      it(`inflates, checks and writes each entry (${threads} thread(s), ${reuse ? 'one reused stream' : 'inflateRawSync'})`, async () => {
        const dir = mkdtempSync(join(root, 'out-'));
        const all = cases();
        const failures: SmallFileFailure[] = [];
        let done = 0;
        const workers = new SmallFileWorkers(
          CREATE_FLAGS,
          threads,
          (files) => {
            done += files;
          },
          (failure) => failures.push(failure),
          reuse,
        );
        try {
          // Each case twice, so that an entry also follows a failed one through the same stream.
          const jobs = [...all, ...all].map((c, id) => ({ c, id, path: join(dir, `${id}-${c.name}`) }));
          for (const { c, id, path } of jobs) {
            await workers.submit(
              {
                id,
                path,
                compressedSize: c.raw.length,
                size: c.size,
                deflated: c.deflated,
                crc32: c.crc,
                mode: 0o644,
                chmod: false,
              },
              (target, at) => c.raw.copy(target, at),
            );
          }
          await workers.drain();
          if (threads > 0) expect(workers.reusedStream).toBe(reuse);
          const failed = new Map(failures.map((f) => [f.id, f]));
          for (const { c, id, path } of jobs) {
            if (c.fails) {
              expect(failed.get(id)).toMatchObject({ kind: 'corrupt' });
              expect(failed.get(id)?.message).toContain(c.fails);
            } else {
              expect(failed.has(id)).toBe(false);
              expect(readFileSync(path).equals(c.content)).toBe(true);
            }
          }
          expect(done).toBe(jobs.filter((j) => !j.c.fails).length);
        } finally {
          await workers.close();
        }
      });
    }
  }
});
