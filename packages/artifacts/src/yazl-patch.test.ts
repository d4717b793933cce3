// The yazl patch (patches/yazl@3.3.1.patch) as yazl's users see it: entries added already deflated, written
// entries kept as their central directory record only, and yazl's own size calculation still intact.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { tempDir } from './__fixtures__/archives.js';

let work: string;
beforeAll(async () => {
  work = await tempDir();
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** The zip's entries as yazl holds them (not part of its API; what the patch changes). */
const held = (zip: yazl.ZipFile) => (zip as unknown as { entries: object[] }).entries;

/** Ends the zip and resolves to yazl's prediction of its size (@types/yazl leaves out the callback's argument). */
const endPredicting = (zip: yazl.ZipFile) =>
  new Promise<number>((resolve) =>
    zip.end({ forceZip64Format: false, comment: '' }, resolve as unknown as () => void),
  );

/** Lets yazl pump: it writes an entry per task, and the consumer must read for it to go on. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('patched yazl', () => {
  it('keeps only the central directory record of a written deflated entry, and the zip stays valid', async () => {
    const zip = new yazl.ZipFile();
    const out = buffer(zip.outputStream);
    const files = Array.from({ length: 200 }, (_, i) => Buffer.from(`file ${i}\n`.repeat(i + 1)));
    zip.addEmptyDirectory('dir/');
    for (const [i, data] of files.entries()) {
      zip.addDeflatedBuffer(deflateRawSync(data), `dir/f${i}.txt`, {
        uncompressedSize: data.length,
        crc32: crc32(data),
        mtime: new Date('2020-01-01T00:00:00Z'),
      });
    }
    await settle();
    const entries = held(zip);
    // The folder is stored, so it stays whole (yazl's total size calculation reads stored entries).
    expect(entries[0]).toHaveProperty('utf8FileName');
    for (const entry of entries.slice(1)) {
      expect(Object.keys(entry).sort()).toEqual(['centralDirectoryRecord', 'compressionLevel', 'state']);
    }
    zip.end();
    const path = join(work, 'deflated.zip');
    await fs.writeFile(path, await out);
    const test = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
    expect(test.stdout).toContain('No errors detected');
    const listing = spawnSync('unzip', ['-p', path, 'dir/f199.txt'], { encoding: 'utf8' });
    expect(listing.stdout).toBe(files[199]!.toString());
  });

  it('still predicts the size of a stored zip whose entries were written before end()', async () => {
    const zip = new yazl.ZipFile();
    const out = buffer(zip.outputStream);
    for (let i = 0; i < 50; i++) zip.addBuffer(Buffer.from(`stored ${i}`), `s${i}.txt`, { compress: false });
    await settle();
    const predicted = await endPredicting(zip);
    expect(predicted).toBe((await out).length);

    const mixed = new yazl.ZipFile();
    const mixedOut = buffer(mixed.outputStream);
    mixed.addBuffer(Buffer.from('stored'), 'a.txt', { compress: false });
    const data = Buffer.from('deflated '.repeat(100));
    mixed.addDeflatedBuffer(deflateRawSync(data), 'b.txt', {
      uncompressedSize: data.length,
      crc32: crc32(data),
    });
    await settle();
    // A compressed entry makes the size unpredictable, before the patch as after it.
    expect(await endPredicting(mixed)).toBe(-1);
    await mixedOut;
  });
});
