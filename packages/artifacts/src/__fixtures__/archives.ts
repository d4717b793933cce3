/**
 * Hand-built archives for the bad-input tests. Real tools (zip, tar, yazl) refuse to write the attacks
 * we need to prove are refused (absolute names, `..`, lying sizes), so these helpers write the formats
 * byte by byte, following APPNOTE.TXT and POSIX ustar.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

export interface RawZipEntry {
  name: string;
  data?: Buffer | string;
  /** Full unix mode including the type bits, e.g. 0o100644, 0o120777, 0o040755. */
  mode?: number;
  deflate?: boolean;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
}

export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8');
    const body = e.deflate ? deflateRawSync(data) : data;
    const method = e.deflate ? 8 : 0;
    const size = e.declaredSize ?? data.length;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface RawTarEntry {
  name: string;
  type?: '0' | '1' | '2' | '5';
  data?: Buffer | string;
  mode?: number;
  linkname?: string;
}

export function rawTar(entries: RawTarEntry[], gzip = false): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8');
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    h.write('00000000000\0', 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h.write(e.type ?? '0', 156, 'ascii');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\x0000', 257, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}

export async function tempDir(prefix = 'pw-artifacts-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function sh(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** A small tree with modes, an empty folder, nested files and inside-links, for round trips. */
export async function makeTree(root: string): Promise<void> {
  await fs.mkdir(join(root, 'bin'), { recursive: true });
  await fs.mkdir(join(root, 'src/lib/deep'), { recursive: true });
  await fs.mkdir(join(root, 'empty'));
  await fs.writeFile(join(root, 'bin/run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await fs.chmod(join(root, 'bin/run.sh'), 0o755);
  await fs.writeFile(join(root, 'src/lib/deep/data.txt'), 'x'.repeat(100_000));
  await fs.writeFile(join(root, 'src/readonly.txt'), 'ro');
  await fs.chmod(join(root, 'src/readonly.txt'), 0o444);
  await fs.writeFile(join(root, 'README.md'), '# hello\n');
  await fs.writeFile(join(root, 'zero.bin'), '');
  await fs.symlink('src/lib', join(root, 'lib-link'));
  await fs.symlink('../README.md', join(root, 'bin/readme'));
  await fs.chmod(join(root, 'src/lib'), 0o750);
}

/** Every path with its type, permission bits, link target or content hash, for tree equality. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const { createHash } = await import('node:crypto');
  const visit = async (rel: string) => {
    for (const name of (await fs.readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link -> ${await fs.readlink(join(root, r))}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await visit(r);
      } else {
        const hash = createHash('sha1')
          .update(await fs.readFile(join(root, r)))
          .digest('hex');
        out[r] = `file ${mode} ${st.size} ${hash}`;
      }
    }
  };
  await visit('');
  return out;
}

export function fileSource(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: 64 * 1024 });
}

export async function* bufferSource(buffer: Buffer, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < buffer.length; i += chunk) yield buffer.subarray(i, i + chunk);
}
