import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import type { S3Client } from '@aws-sdk/client-s3';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, rawZip, sh, snapshot, tempDir } from './__fixtures__/archives.js';
import { artifactFailure, putArtifact } from './__fixtures__/s3.js';
import { extractStream } from './download.js';
import { type ArtifactError, createArtifactClient, downloadArtifact, type S3Location } from './index.js';
import { YOUNG_GC_BYTES, youngGc } from './young-gc.js';

// Extraction while the zip downloads: the directory read ahead with ranged GETs, entries extracted from a
// memory window or a spool, small files inflated and written by a worker thread (128 files or more).

let stack: LocalStack;
let s3: S3Client;
let work: string;
let n = 0;
const dest = () => join(work, `out-${n++}`);
const loc = (key: string): S3Location => ({ bucket: stack.artifactBucket, key });
/** GetObject requests seen by `s3`, with their Range header. */
const gets: (string | undefined)[] = [];

const put = (key: string, body: Buffer) => putArtifact(s3, stack.artifactBucket, key, body);
const failure = artifactFailure;

/** `count` files of `size` random bytes in 8 folders, every tenth executable: a zip of count * size bytes. */
async function manyFiles(root: string, count: number, size: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${i % 8}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(join(dir, `f${i}.bin`), randomBytes(size), { mode: i % 10 === 0 ? 0o755 : 0o644 });
  }
}

/** The same zip with its central directory records in reverse order (the data stays where it is). */
function reverseDirectory(zip: Buffer): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const start = zip.readUInt32LE(eocd + 16);
  const records: Buffer[] = [];
  for (let at = start; at < eocd; ) {
    const length = 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    records.push(zip.subarray(at, at + length));
    at += length;
  }
  return Buffer.concat([zip.subarray(0, start), ...records.reverse(), zip.subarray(eocd)]);
}

/** Offsets of each entry's local header, in directory order. */
function localHeaders(zip: Buffer): { name: string; offset: number; compressedSize: number }[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const out = [];
  for (let at = zip.readUInt32LE(eocd + 16); at < eocd; ) {
    const nameLength = zip.readUInt16LE(at + 28);
    out.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      offset: zip.readUInt32LE(at + 42),
      compressedSize: zip.readUInt32LE(at + 20),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

let tree: string;
let treeZip: Buffer;

beforeAll(async () => {
  stack = await startLocalStack();
  s3 = createArtifactClient(stack.clientConfig('s3'));
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') {
        gets.push((args.request as { headers: Record<string, string> }).headers.range);
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countGets' },
  );
  work = await tempDir();
  tree = join(work, 'tree');
  // 5 MiB in 160 files: past the read-ahead threshold (4 MiB) and the worker threshold (128 small files).
  await manyFiles(tree, 160, 32 * 1024);
  const zipPath = join(work, 'tree.zip');
  sh('zip', ['-q', '-r', '-y', zipPath, '.'], tree);
  treeZip = await fs.readFile(zipPath);
  await put('pipe/many.zip', treeZip);
});
afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

describe('extracting while downloading', () => {
  it('reads the directory with ranged GETs and extracts from memory, without a spool', async () => {
    gets.length = 0;
    const out = dest();
    // A tmpDir that cannot be created: the extraction must not need it.
    const result = await downloadArtifact(s3, loc('pipe/many.zip'), out, { tmpDir: join(work, 'no/such') });
    expect(result).toEqual({ format: 'zip', files: 160, bytes: 160 * 32 * 1024 });
    expect(await snapshot(out)).toEqual(await snapshot(tree));
    expect(gets[0]).toBeUndefined(); // the body, from its first byte
    expect(gets.length).toBeGreaterThan(1);
    expect(gets.slice(1).every((range) => range?.startsWith('bytes='))).toBe(true);
  });

  it('extracts a zip whose directory is not in the order of the data, from a spool', async () => {
    await put('pipe/reversed.zip', reverseDirectory(treeZip));
    const e = await failure(
      downloadArtifact(s3, loc('pipe/reversed.zip'), dest(), { tmpDir: join(work, 'no/such') }),
    );
    expect(e.code).toBe('LOCAL_IO'); // it needs the spool
    const tmp = join(work, 'tmp-reversed');
    await fs.mkdir(tmp);
    const out = dest();
    const result = await downloadArtifact(s3, loc('pipe/reversed.zip'), out, { tmpDir: tmp });
    expect(result.files).toBe(160);
    expect(await snapshot(out)).toEqual(await snapshot(tree));
    expect(await fs.readdir(tmp)).toEqual([]);
  });

  it('needs a single GET for an object smaller than the read-ahead', async () => {
    await put('pipe/small.zip', rawZip([{ name: 'a.txt', data: 'hello', deflate: true }]));
    gets.length = 0;
    const out = dest();
    expect(await downloadArtifact(s3, loc('pipe/small.zip'), out)).toEqual({
      format: 'zip',
      files: 1,
      bytes: 5,
    });
    expect(gets).toEqual([undefined]);
  });

  it('resumes GETs reset mid-body while entries are being extracted', async () => {
    stack.faults.set({ s3: { GetObject: { resetRate: 0.5 } } }, 3);
    const resetsBefore = stack.faults.injected.reset;
    try {
      const out = dest();
      expect((await downloadArtifact(s3, loc('pipe/many.zip'), out)).files).toBe(160);
      expect(await snapshot(out)).toEqual(await snapshot(tree));
      expect(stack.faults.injected.reset).toBeGreaterThan(resetsBefore);
    } finally {
      stack.faults.clear();
    }
  });

  it('checks a symlink stored after every file before writing any of them', async () => {
    const zipPath = join(work, 'late-link.zip');
    await fs.copyFile(join(work, 'tree.zip'), zipPath);
    const linkDir = join(work, 'late-link');
    await fs.mkdir(linkDir);
    await fs.symlink('../../etc', join(linkDir, 'zz-link'));
    sh('zip', ['-q', '-y', zipPath, 'zz-link'], linkDir);
    const zip = await fs.readFile(zipPath);
    expect(localHeaders(zip).at(-1)?.name).toBe('zz-link');
    await put('pipe/late-link.zip', zip);
    const out = dest();
    const e = await failure(downloadArtifact(s3, loc('pipe/late-link.zip'), out));
    expect(e.code).toBe('UNSAFE_SYMLINK');
    expect(e.message).toContain('"zz-link" -> "../../etc"');
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('names a damaged entry among many, stored or deflated', async () => {
    for (const level of ['-0', '-6']) {
      const zipPath = join(work, `damaged${level}.zip`);
      sh('zip', ['-q', '-r', level, zipPath, '.'], tree);
      const zip = await fs.readFile(zipPath);
      const victim = localHeaders(zip)[100]!;
      const dataAt =
        victim.offset + 30 + zip.readUInt16LE(victim.offset + 26) + zip.readUInt16LE(victim.offset + 28);
      zip.fill(0x21, dataAt + 1000, dataAt + 1100);
      await put(`pipe/damaged${level}.zip`, zip);
      const e = await failure(downloadArtifact(s3, loc(`pipe/damaged${level}.zip`), dest()));
      expect(e.code).toBe('CORRUPT_ARCHIVE');
      expect(e.entry).toBe(victim.name);
      expect(e.message).toContain(victim.name);
    }
  });

  it('refuses an existing symlink at a file path, and replaces an existing file', async () => {
    const out = dest();
    const outside = await tempDir();
    await fs.mkdir(join(out, 'd3'), { recursive: true });
    await fs.writeFile(join(out, 'd3/f3.bin'), 'old');
    expect((await downloadArtifact(s3, loc('pipe/many.zip'), out)).files).toBe(160);
    expect(await snapshot(out)).toEqual(await snapshot(tree));

    const out2 = dest();
    await fs.mkdir(join(out2, 'd5'), { recursive: true });
    await fs.symlink(join(outside, 'target'), join(out2, 'd5/f5.bin'));
    const e = await failure(downloadArtifact(s3, loc('pipe/many.zip'), out2));
    expect(e.code).toBe('UNSAFE_SYMLINK');
    expect(e.entry).toBe('d5/f5.bin');
    expect(await fs.readdir(outside)).toEqual([]);
    await fs.rm(outside, { recursive: true });
  });

  it('reads a zip64 directory of 66,001 entries ahead of the body, in more than one ranged GET', async () => {
    const many = join(work, 'many-dirs');
    await fs.mkdir(many);
    sh('sh', ['-c', 'seq -f "d%g" 0 65999 | xargs mkdir && echo last > last.txt'], many);
    const zipPath = join(work, 'zip64.zip');
    sh('zip', ['-rq', zipPath, '.'], many);
    await fs.rm(many, { recursive: true });
    const zip = await fs.readFile(zipPath);
    expect(zip.length).toBeGreaterThan(5 * 1024 * 1024);
    await put('pipe/zip64.zip', zip);
    gets.length = 0;
    const out = dest();
    const result = await downloadArtifact(s3, loc('pipe/zip64.zip'), out, { tmpDir: join(work, 'no/such') });
    expect(result).toEqual({ format: 'zip', files: 1, bytes: 5 });
    expect(await fs.readFile(join(out, 'last.txt'), 'utf8')).toBe('last\n');
    expect((await fs.stat(join(out, 'd65999'))).isDirectory()).toBe(true);
    expect(gets.filter((range) => range !== undefined).length).toBeGreaterThan(1);
  }, 120_000);

  it('streams small entries whose header and data are larger than the memory window', async () => {
    // Stored, just under 1 MiB, with a long name: more than the 1 MiB window from the header on.
    const big = (i: number) => ({ name: `${'n'.repeat(200)}-${i}.bin`, data: randomBytes(1_048_500) });
    const entries = [
      ...Array.from({ length: 130 }, (_, i) => ({ name: `s/${i}.txt`, data: `small ${i}`, deflate: true })),
      big(1),
      big(2),
      big(3),
      big(4),
      { name: 'z.txt', data: 'last' },
    ];
    await put('pipe/wide.zip', rawZip(entries));
    const out = dest();
    const result = await downloadArtifact(s3, loc('pipe/wide.zip'), out, { tmpDir: join(work, 'no/such') });
    expect(result.files).toBe(135);
    expect(
      (await fs.readFile(join(out, `${'n'.repeat(200)}-3.bin`))).equals(entries[132]!.data as Buffer),
    ).toBe(true);
    expect(await fs.readFile(join(out, 'z.txt'), 'utf8')).toBe('last');
  });

  it('stops when the signal aborts mid-way', async () => {
    const controller = new AbortController();
    const pending = downloadArtifact(s3, loc('pipe/many.zip'), dest(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const e = await pending.then(
      () => undefined,
      (error: unknown) => error as ArtifactError,
    );
    // A fast machine may finish first; otherwise it is an abort, never a hang or another error.
    if (e !== undefined) expect(e.code).toBe('ABORTED');
  });
});

describe('young-generation collections', () => {
  it('run without exposing gc to the program or to new contexts', () => {
    const exposed = typeof (globalThis as { gc?: unknown }).gc;
    youngGc.add(YOUNG_GC_BYTES);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(exposed);
    if (exposed === 'undefined') expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});

describe('many small files from a stream', () => {
  const files = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `f/${i}.txt`,
      data: `file ${i} `.repeat(50),
      deflate: true,
    }));

  it('extracts them with the worker thread', async () => {
    const out = dest();
    const result = await extractStream(bufferSource(rawZip(files(300))), out, 'x');
    expect(result).toMatchObject({ format: 'zip', files: 300 });
    expect(await fs.readFile(join(out, 'f/299.txt'), 'utf8')).toBe('file 299 '.repeat(50));
  });

  it('stops an entry that inflates past its declared size', async () => {
    const entries = files(200);
    entries[150] = { ...entries[150]!, declaredSize: 10 } as (typeof entries)[number];
    const e = await extractStream(bufferSource(rawZip(entries)), dest(), 'x').catch(
      (error: unknown) => error as ArtifactError,
    );
    expect((e as ArtifactError).code).toBe('CORRUPT_ARCHIVE');
    expect((e as ArtifactError).entry).toBe('f/150.txt');
    expect((e as ArtifactError).message).toMatch(/inflates past its declared size/);
  });

  it('keeps the last of duplicate paths', async () => {
    const entries = [
      ...files(130),
      { name: 'f6059.txt', data: 'first', deflate: true },
      { name: 'f264602.txt', data: 'other', deflate: true },
      { name: 'f6059.txt', data: 'second', deflate: true },
      { name: 'f/7.txt', data: 'replaced', deflate: true },
    ];
    const out = dest();
    const result = await extractStream(bufferSource(rawZip(entries)), out, 'x');
    expect(result.files).toBe(132);
    expect(await fs.readFile(join(out, 'f6059.txt'), 'utf8')).toBe('second');
    expect(await fs.readFile(join(out, 'f264602.txt'), 'utf8')).toBe('other');
    expect(await fs.readFile(join(out, 'f/7.txt'), 'utf8')).toBe('replaced');
  });

  it('refuses entries whose data overlap', async () => {
    const zip = rawZip(files(3));
    const records = localHeaders(zip);
    // Point the third record at the first entry's data.
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    let at = zip.readUInt32LE(eocd + 16);
    for (let i = 0; i < 2; i++) at += 46 + zip.readUInt16LE(at + 28);
    zip.writeUInt32LE(records[0]!.offset, at + 42);
    const e = await extractStream(bufferSource(zip), dest(), 'x').catch(
      (error: unknown) => error as ArtifactError,
    );
    expect((e as ArtifactError).code).toBe('CORRUPT_ARCHIVE');
    expect((e as ArtifactError).message).toMatch(/overlaps/);
  });
});
