import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { makeTree, sh, snapshot, tempDir } from './__fixtures__/archives.js';
import { ArtifactError } from './errors.js';
import { zipFolder } from './zip-folder.js';

let work: string;
let tree: string;
let n = 0;

/** The small fixture tree plus enough files to span many batches, a large file and incompressible data. */
async function makeMixedTree(root: string): Promise<void> {
  await makeTree(root);
  for (let d = 0; d < 4; d++) {
    await fs.mkdir(join(root, `many/d${d}`), { recursive: true });
    for (let i = 0; i < 60; i++) {
      const data =
        i % 3 === 0 ? randomBytes(20_000 + i) : Buffer.from(`line ${i}\n`.repeat(200 + 50 * i), 'utf8');
      await fs.writeFile(join(root, `many/d${d}/f${String(i).padStart(2, '0')}.txt`), data, {
        mode: i % 7 === 0 ? 0o700 : 0o644,
      });
    }
  }
  await fs.writeFile(join(root, 'many/large.bin'), randomBytes(3 * 1024 * 1024 + 17));
  await fs.writeFile(join(root, 'many/medium.txt'), 'medium '.repeat(100_000));
}

async function zipTo(dir: string, level?: number): Promise<string> {
  const path = join(work, `z-${n++}.zip`);
  const zip = await zipFolder(dir, level === undefined ? {} : { compressionLevel: level });
  await pipeline(zip.stream, (await fs.open(path, 'w')).createWriteStream());
  return path;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

beforeAll(async () => {
  work = await tempDir();
  tree = join(work, 'tree');
  await makeMixedTree(tree);
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('zipFolder', () => {
  it('writes a zip that Info-ZIP tests clean and extracts to the same tree', async () => {
    const path = await zipTo(tree);
    expect(run('unzip', ['-t', '-q', path])).toContain('No errors detected');
    const out = join(work, `unzipped-${n++}`);
    await fs.mkdir(out);
    sh('unzip', ['-q', path, '-d', out], work);
    expect(await snapshot(out)).toEqual(await snapshot(tree));
  });

  it('lists entries depth first with names sorted, each folder before its content, with modes and link flags', async () => {
    const listing = run('zipinfo', [await zipTo(tree)])
      .split('\n')
      .filter((line) => /^[-dl]/.test(line))
      .map((line) => {
        const fields = line.trim().split(/\s+/);
        return { mode: fields[0], method: fields[5], name: fields.slice(8).join(' ') };
      });
    const names = listing.map((e) => e.name);
    expect(names.slice(0, 4)).toEqual(['README.md', 'bin/', 'bin/readme', 'bin/run.sh']);
    expect(names.indexOf('many/d0/f59.txt') + 1).toBe(names.indexOf('many/d1/'));
    expect(names.indexOf('many/d3/f59.txt') + 1).toBe(names.indexOf('many/large.bin'));
    const byName = new Map(listing.map((e) => [e.name, e]));
    expect(byName.get('bin/run.sh')?.mode).toBe('-rwxr-xr-x');
    expect(byName.get('src/readonly.txt')?.mode).toBe('-r--r--r--');
    expect(byName.get('src/lib/')?.mode).toBe('drwxr-x---');
    expect(byName.get('many/d0/f07.txt')?.mode).toBe('-rwx------');
    expect(byName.get('lib-link')?.mode).toMatch(/^l/);
    expect(byName.get('lib-link')?.method).toBe('stor');
    expect(byName.get('many/d0/f01.txt')?.method).toMatch(/^def/);
    expect(byName.get('many/large.bin')?.method).toMatch(/^def/);
  });

  it('is deterministic, and level 0 stores', async () => {
    const a = await fs.readFile(await zipTo(tree));
    const b = await fs.readFile(await zipTo(tree));
    expect(a.equals(b)).toBe(true);
    const stored = await zipTo(tree, 0);
    const methods = run('zipinfo', [stored])
      .split('\n')
      .filter((line) => /^-/.test(line))
      .map((line) => line.trim().split(/\s+/)[5]);
    expect(new Set(methods)).toEqual(new Set(['stor']));
    expect(run('unzip', ['-t', '-q', stored])).toContain('No errors detected');
  });

  it('gives the same bytes with more deflating threads, and refuses a thread count outside 1-4', async () => {
    const one = await fs.readFile(await zipTo(tree));
    const path = join(work, `z-${n++}.zip`);
    const zip = await zipFolder(tree, { threads: 3 });
    await pipeline(zip.stream, (await fs.open(path, 'w')).createWriteStream());
    expect((await fs.readFile(path)).equals(one)).toBe(true);
    for (const threads of [0, 5, 1.5]) {
      await expect(zipFolder(tree, { threads })).rejects.toThrow(/threads must be an integer from 1 to 4/);
    }
  });

  it('keeps each entry modification time, to the second', async () => {
    const dir = join(work, 'times');
    await fs.mkdir(join(dir, 'sub'), { recursive: true });
    const times = new Map([
      ['small.txt', new Date('2001-02-03T04:05:06Z')],
      ['sub/big.bin', new Date('2019-12-31T23:59:58Z')],
    ]);
    await fs.writeFile(join(dir, 'small.txt'), 'small');
    await fs.writeFile(join(dir, 'sub/big.bin'), randomBytes(2 * 1024 * 1024));
    for (const [name, time] of times) await fs.utimes(join(dir, name), time, time);
    const out = join(work, `times-out-${n++}`);
    await fs.mkdir(out);
    sh('unzip', ['-q', await zipTo(dir), '-d', out], work);
    for (const [name, time] of times) {
      expect((await fs.stat(join(out, name))).mtime.getTime(), name).toBe(time.getTime());
    }
  });

  it('still works with an unpatched yazl, streaming every file', async () => {
    const proto = yazl.ZipFile.prototype as { addDeflatedBuffer?: unknown };
    const patched = proto.addDeflatedBuffer;
    proto.addDeflatedBuffer = undefined;
    try {
      const path = await zipTo(tree);
      expect(run('unzip', ['-t', '-q', path])).toContain('No errors detected');
      const out = join(work, `unpatched-${n++}`);
      await fs.mkdir(out);
      sh('unzip', ['-q', path, '-d', out], work);
      expect(await snapshot(out)).toEqual(await snapshot(tree));
    } finally {
      proto.addDeflatedBuffer = patched;
    }
  });

  it('reports a file that vanished after the listing as LOCAL_IO naming it', async () => {
    const dir = join(work, 'vanishing');
    await fs.mkdir(dir);
    for (let i = 0; i < 300; i++) await fs.writeFile(join(dir, `f${String(i).padStart(3, '0')}`), `${i}`);
    const zip = await zipFolder(dir);
    // The listing is done; entries are read while the consumer reads, so a file removed now is missed.
    await fs.rm(join(dir, 'f299'));
    const error = await pipeline(
      zip.stream,
      (await fs.open(join(work, 'v.zip'), 'w')).createWriteStream(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as ArtifactError).code).toBe('LOCAL_IO');
    expect((error as ArtifactError).entry).toBe('f299');
  });
});
