import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import {
  bufferSource,
  fileSource,
  makeTree,
  rawTar,
  rawZip,
  sh,
  snapshot,
  tempDir,
} from './__fixtures__/archives.js';
import { extractStream } from './download.js';
import { ArtifactError } from './errors.js';
import type { ExtractLimits } from './limits.js';
import { zipFolder } from './zip-folder.js';

let work: string;
let tree: string;
let n = 0;
const dest = () => join(work, `out-${n++}`);

beforeAll(async () => {
  work = await tempDir();
  tree = join(work, 'tree');
  await makeTree(tree);
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function extractBuffer(buffer: Buffer, limits?: Partial<ExtractLimits>) {
  const out = dest();
  const result = await extractStream(bufferSource(buffer), out, 'artifact', limits ? { limits } : {});
  return { out, result };
}

async function refused(buffer: Buffer, limits?: Partial<ExtractLimits>): Promise<ArtifactError> {
  const error = await extractBuffer(buffer, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactError);
  return error as ArtifactError;
}

describe('round trips', () => {
  it('extracts what zipFolder produces: modes, empty folders and symlinks intact', async () => {
    const zipPath = join(work, 'own.zip');
    const zip = await zipFolder(tree);
    await pipeline(zip.stream, (await fs.open(zipPath, 'w')).createWriteStream());
    const out = dest();
    const result = await extractStream(fileSource(zipPath), out, 'x');
    expect(result.format).toBe('zip');
    expect(result.files).toBe(zip.files);
    expect(await snapshot(out)).toEqual(await snapshot(tree));
    expect((await snapshot(out))['bin/run.sh']).toMatch(/^file 755 /);
    expect((await snapshot(out))['lib-link']).toBe('link -> src/lib');
  });

  it('extracts a zip made by the system `zip -y -r`', async () => {
    const zipPath = join(work, 'system.zip');
    sh('zip', ['-q', '-y', '-r', zipPath, '.'], tree);
    const out = dest();
    const result = await extractStream(fileSource(zipPath), out, 'x');
    expect(result.format).toBe('zip');
    expect(await snapshot(out)).toEqual(await snapshot(tree));
  });

  it('extracts a zip made by yazl, streamed entries and all', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('#!/bin/sh\n'), 'tools/run.sh', { mode: 0o100750 });
    zip.addReadStream(Readable.from([randomBytes(3 * 1024 * 1024)]), 'data/big.txt', {
      mode: 0o100640,
    });
    zip.addBuffer(Buffer.from('tools/run.sh'), 'run', { mode: 0o120777, compress: false });
    zip.addEmptyDirectory('cache/', { mode: 0o040700 });
    zip.end();
    const out = dest();
    const result = await extractStream(zip.outputStream as AsyncIterable<Buffer>, out, 'x');
    expect(result).toMatchObject({ format: 'zip', files: 3, bytes: 3 * 1024 * 1024 + 10 });
    const snap = await snapshot(out);
    expect(snap['tools/run.sh']).toMatch(/^file 750 /);
    expect(snap['data/big.txt']).toMatch(/^file 640 3145728 /);
    expect(snap['run']).toBe('link -> tools/run.sh');
    expect(snap['cache']).toBe('dir 700');
  });

  it('reads zip64 records when a zip has more than 65,535 entries', async () => {
    // Empty folders are cheap on disk; Info-ZIP's `zip` switches to zip64 records past 65,535 entries.
    const many = join(work, 'many');
    await fs.mkdir(many);
    sh('sh', ['-c', 'seq -f "d%g" 0 65999 | xargs mkdir && ln -s d65999 last'], many);
    const zipPath = join(work, 'zip64.zip');
    sh('zip', ['-rqy', zipPath, '.'], many);
    await fs.rm(many, { recursive: true });
    const out = dest();
    const result = await extractStream(fileSource(zipPath), out, 'x');
    expect(result).toMatchObject({ format: 'zip', files: 1 });
    expect(await fs.readlink(join(out, 'last'))).toBe('d65999');
    expect((await fs.stat(join(out, 'd65999'))).isDirectory()).toBe(true);
    const e = await refused(await fs.readFile(zipPath), { maxEntries: 66_000 });
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain('66001 entries');
  }, 120_000);

  it('extracts tar and tar.gz made by the system `tar`', async () => {
    for (const [flags, format] of [
      ['czf', 'tar.gz'],
      ['cf', 'tar'],
    ] as const) {
      const path = join(work, `system.${format}`);
      sh('tar', [flags, path, '.'], tree);
      const out = dest();
      const result = await extractStream(fileSource(path), out, 'x');
      expect(result.format).toBe(format);
      expect(await snapshot(out)).toEqual(await snapshot(tree));
    }
  });

  it('keeps tar hard links to earlier files', async () => {
    const tar = rawTar([
      { name: 'a.txt', data: 'A' },
      { name: 'b.txt', type: '1', linkname: 'a.txt' },
    ]);
    const { out } = await extractBuffer(tar);
    expect(await fs.readFile(join(out, 'b.txt'), 'utf8')).toBe('A');
  });

  it('saves anything else as one file named after the key', async () => {
    const out = dest();
    const result = await extractStream(bufferSource(Buffer.from('{"a":1}')), out, 'config.json');
    expect(result).toEqual({ format: 'file', files: 1, bytes: 7 });
    expect(await fs.readFile(join(out, 'config.json'), 'utf8')).toBe('{"a":1}');
  });

  it('handles an empty zip and strips setuid/setgid', async () => {
    const empty = await extractBuffer(rawZip([]));
    expect(empty.result).toEqual({ format: 'zip', files: 0, bytes: 0 });
    const { out } = await extractBuffer(rawZip([{ name: 'suid', data: 'x', mode: 0o106755 }]));
    expect((await fs.stat(join(out, 'suid'))).mode & 0o7777).toBe(0o755);
  });
});

describe('refuses bad zips', () => {
  it('corrupt zip', async () => {
    const good = rawZip([{ name: 'a.txt', data: 'hello world '.repeat(100), deflate: true }]);
    const truncated = good.subarray(0, good.length - 30);
    const e = await refused(truncated);
    expect(e.code).toBe('CORRUPT_ARCHIVE');
    expect(e.message).toMatch(/not a valid zip/);

    const stored = rawZip([{ name: 'a.txt', data: 'hello world '.repeat(100) }]);
    const damaged = Buffer.from(stored);
    damaged.fill(0x21, 60, 80); // inside the stored data: only the CRC can tell
    const e2 = await refused(damaged);
    expect(e2.code).toBe('CORRUPT_ARCHIVE');
    expect(e2.message).toContain('a.txt');
  });

  it('zip-slip entry', async () => {
    const e = await refused(
      rawZip([
        { name: 'ok.txt', data: 'x' },
        { name: 'a/../../evil.sh', data: 'x' },
      ]),
    );
    expect(e.code).toBe('UNSAFE_PATH');
    expect(e.message).toContain('a/../../evil.sh');
    expect(e.message).toMatch(/\.\./);
  });

  it('absolute path', async () => {
    const e = await refused(rawZip([{ name: '/tmp/pw-evil', data: 'x' }]));
    expect(e.code).toBe('UNSAFE_PATH');
    expect(e.message).toContain('/tmp/pw-evil');
    expect(e.message).toMatch(/absolute/);
  });

  it('escaping symlink, absolute and relative', async () => {
    for (const target of ['/etc/passwd', '../../outside', 'a/../..']) {
      const e = await refused(rawZip([{ name: 'link', data: target, mode: 0o120777 }]));
      expect(e.code).toBe('UNSAFE_SYMLINK');
      expect(e.message).toContain(`"link" -> "${target}"`);
    }
  });

  it('symlink chains that escape only through another link', async () => {
    const e = await refused(
      rawZip([
        { name: 'x/y/d', data: '../..', mode: 0o120777 },
        { name: 'e', data: 'x/y/d/..', mode: 0o120777 },
      ]),
    );
    expect(e.code).toBe('UNSAFE_SYMLINK');
    expect(e.message).toContain('"e"');
  });

  it('symlink then a write through it', async () => {
    const out = dest();
    const e = await extractStream(
      bufferSource(
        rawZip([
          { name: 'sub/', mode: 0o040755 },
          { name: 'link', data: 'sub', mode: 0o120777 },
          { name: 'link/evil.txt', data: 'x' },
        ]),
      ),
      out,
      'a',
    ).catch((error: unknown) => error as ArtifactError);
    expect(e).toBeInstanceOf(ArtifactError);
    expect((e as ArtifactError).code).toBe('UNSAFE_SYMLINK');
    expect((e as ArtifactError).message).toContain('link/evil.txt');
    await expect(fs.access(join(out, 'sub/evil.txt'))).rejects.toThrow();
  });

  it('zip bomb: a highly compressible entry is refused by its declared ratio', async () => {
    const bomb = rawZip([{ name: 'zeros.bin', data: Buffer.alloc(64 * 1024 * 1024), deflate: true }]);
    expect(bomb.length).toBeLessThan(200_000);
    const e = await refused(bomb);
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain('zeros.bin');
    expect(e.message).toMatch(/zip bomb/);
  });

  it('zip bomb that lies about its size is stopped while inflating', async () => {
    const liar = rawZip([
      { name: 'liar.bin', data: Buffer.alloc(16 * 1024 * 1024), deflate: true, declaredSize: 1000 },
    ]);
    const e = await refused(liar);
    expect(e.code).toBe('CORRUPT_ARCHIVE');
    expect(e.message).toContain('liar.bin');
  });

  it('total size and too many entries', async () => {
    const many = rawZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: 'data' })));
    const e = await refused(many, { maxEntries: 10 });
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain('limits.maxEntries (10)');
    const big = rawZip([{ name: 'big.txt', data: Buffer.alloc(5000, 'a') }]);
    const e2 = await refused(big, { maxBytes: 4096 });
    expect(e2.code).toBe('LIMIT_EXCEEDED');
    expect(e2.message).toContain('big.txt');
  });

  it('device entries', async () => {
    const e = await refused(rawZip([{ name: 'dev', data: '', mode: 0o020644 }]));
    expect(e.code).toBe('UNSUPPORTED_ENTRY');
  });
});

describe('refuses bad tars', () => {
  it('absolute path and zip-slip', async () => {
    const abs = await refused(rawTar([{ name: '/tmp/pw-evil', data: 'x' }]));
    expect(abs.code).toBe('UNSAFE_PATH');
    expect(abs.message).toContain('/tmp/pw-evil');
    const slip = await refused(rawTar([{ name: '../evil', data: 'x' }], true));
    expect(slip.code).toBe('UNSAFE_PATH');
    expect(slip.message).toContain('../evil');
  });

  it('escaping symlink and a write through a symlink', async () => {
    const esc = await refused(rawTar([{ name: 'l', type: '2', linkname: '../../etc' }]));
    expect(esc.code).toBe('UNSAFE_SYMLINK');
    expect(esc.message).toContain('"l" -> "../../etc"');
    const out = dest();
    const through = await extractStream(
      bufferSource(
        rawTar([
          { name: 'l', type: '2', linkname: '/tmp' },
          { name: 'l/evil', data: 'x' },
        ]),
      ),
      out,
      'a',
    ).catch((error: unknown) => error as ArtifactError);
    expect((through as ArtifactError).code).toBe('UNSAFE_SYMLINK');
    expect((through as ArtifactError).message).toContain('l/evil');
  });

  it('streams large tar entries and keeps their bytes', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 7);
    const { out, result } = await extractBuffer(rawTar([{ name: 'big.bin', data: big, mode: 0o600 }], true));
    expect(result).toMatchObject({ format: 'tar.gz', files: 1, bytes: big.length });
    expect((await fs.readFile(join(out, 'big.bin'))).equals(big)).toBe(true);
    expect((await fs.stat(join(out, 'big.bin'))).mode & 0o777).toBe(0o600);
  });

  it('never writes through a symlink already in the destination', async () => {
    const out = dest();
    await fs.mkdir(out);
    const outside = await tempDir();
    await fs.symlink(outside, join(out, 'sub'));
    const e = await extractStream(
      bufferSource(rawZip([{ name: 'sub/evil.txt', data: 'x' }])),
      out,
      'a',
    ).catch((error: unknown) => error as ArtifactError);
    expect((e as ArtifactError).code).toBe('UNSAFE_SYMLINK');
    expect((e as ArtifactError).message).toContain('sub');
    expect(await fs.readdir(outside)).toEqual([]);
    const e2 = await extractStream(bufferSource(rawZip([{ name: 'sub', data: 'x' }])), out, 'a').catch(
      (error: unknown) => error as ArtifactError,
    );
    expect((e2 as ArtifactError).code).toBe('UNSAFE_SYMLINK');
    await fs.rm(outside, { recursive: true });
  });

  it('hard link to something not extracted', async () => {
    const e = await refused(rawTar([{ name: 'h', type: '1', linkname: 'etc/passwd' }]));
    expect(e.code).toBe('UNSAFE_SYMLINK');
  });

  it('tar.gz bomb and truncated tar.gz', async () => {
    const bomb = rawTar([{ name: 'zeros', data: Buffer.alloc(64 * 1024 * 1024) }], true);
    expect(bomb.length).toBeLessThan(200_000);
    const e = await refused(bomb);
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain('zeros');
    const good = rawTar([{ name: 'a.txt', data: 'hello '.repeat(10_000) }], true);
    const e2 = await refused(good.subarray(0, good.length - 20));
    expect(e2.code).toBe('CORRUPT_ARCHIVE');
  });
});
