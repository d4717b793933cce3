import { crc32 } from 'node:zlib';
import { ArtifactError } from './errors.js';

/** One central directory record: the authoritative description of an entry (name, size, mode, offset). */
export interface ZipEntry {
  name: string;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  externalAttributes: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Where entry data must end: the start of the central directory. */
  dataEnd: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const U16 = 0xffff;
const U32 = 0xffffffff;
/** A directory this large means millions of entries or absurd names; refuse before reading it. */
const MAX_DIRECTORY = 64 * 1024 * 1024;

// IBM code page 437, which zip names use unless flagged UTF-8. Bytes below 0x80 are ASCII.
const CP437 =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export function decodeCp437(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : CP437[b - 0x80];
  return out;
}

function corrupt(message: string): ArtifactError {
  return new ArtifactError(
    'CORRUPT_ARCHIVE',
    `${message}. The artifact is not a valid zip (truncated or damaged); rebuild and upload it again.`,
  );
}

/** Random access to the archive: a file on disk, or ranged GETs on the S3 object. */
export interface RandomAccess {
  size: number;
  /** Exactly `length` bytes from `position`. */
  read(position: number, length: number): Promise<Buffer>;
}

async function readAt(access: RandomAccess, position: number, length: number): Promise<Buffer> {
  const buffer = await access.read(position, length);
  if (buffer.length !== length) throw corrupt(`Unexpected end of file at byte ${position + buffer.length}`);
  return buffer;
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`The zip64 ${what} is out of range`);
  return Number(v);
}

/**
 * Reads the central directory with a handful of large reads. (yauzl issues two small reads and allocations
 * per entry, which on 20,000 entries costs seconds and ~50 MiB of garbage.) Handles zip64, CP437 and UTF-8
 * names and Info-ZIP's Unicode path field; refuses multi-disk archives and anything inconsistent.
 */
export async function readZipDirectory(access: RandomAccess, maxEntries: number): Promise<ZipDirectory> {
  const fileSize = access.size;
  const fh = access;
  if (fileSize < 22) throw corrupt(`The file is only ${fileSize} bytes, too short to be a zip`);
  const tailLength = Math.min(fileSize, 22 + U16);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(fh, tailStart, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw corrupt('No end-of-central-directory record was found');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) {
    throw corrupt('The zip spans several disks, which is not supported');
  }
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  let end = tailStart + at;

  const locatorAt = at - 20;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === EOCD64_LOCATOR) {
    const recordOffset = safeNumber(tail.readBigUInt64LE(locatorAt + 8), 'record offset');
    if (recordOffset + 56 > tailStart + locatorAt) throw corrupt('The zip64 end record is out of place');
    const record = await readAt(fh, recordOffset, 56);
    if (record.readUInt32LE(0) !== EOCD64) throw corrupt('The zip64 end record is missing');
    count = safeNumber(record.readBigUInt64LE(32), 'entry count');
    size = safeNumber(record.readBigUInt64LE(40), 'directory size');
    offset = safeNumber(record.readBigUInt64LE(48), 'directory offset');
    end = recordOffset;
  } else if (count === U16 || size === U32 || offset === U32) {
    throw corrupt('The zip needs zip64 records but has none');
  }
  if (count > maxEntries) {
    throw new ArtifactError(
      'LIMIT_EXCEEDED',
      `The zip declares ${count} entries, more entries than limits.maxEntries (${maxEntries}). Raise the ` +
        'limit if this is expected, or ship fewer, larger files.',
    );
  }
  if (offset + size > end) throw corrupt('The central directory runs past the end of the file');
  if (size > MAX_DIRECTORY) throw corrupt(`The central directory is ${size} bytes, beyond ${MAX_DIRECTORY}`);

  // The directory is often inside the tail already read: no second request then.
  const cd =
    offset >= tailStart
      ? tail.subarray(offset - tailStart, offset - tailStart + size)
      : await readAt(fh, offset, size);
  const entries: ZipEntry[] = [];
  let p = 0;
  while (entries.length < count) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) {
      throw corrupt(`Central directory record ${entries.length + 1} of ${count} is damaged`);
    }
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > cd.length) throw corrupt(`Central directory record ${entries.length + 1} is cut short`);
    const flags = cd.readUInt16LE(p + 8);
    const rawName = cd.subarray(p + 46, p + 46 + nameLength);
    const entry: ZipEntry = {
      name: '',
      versionMadeBy: cd.readUInt16LE(p + 4),
      flags,
      method: cd.readUInt16LE(p + 10),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      uncompressedSize: cd.readUInt32LE(p + 24),
      localHeaderOffset: cd.readUInt32LE(p + 42),
      externalAttributes: cd.readUInt32LE(p + 38),
    };
    let unicodeName: string | undefined;
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const length = cd.readUInt16LE(e + 2);
      const data = cd.subarray(e + 4, Math.min(e + 4 + length, extraEnd));
      if (id === 0x0001) {
        // Zip64: only the fields that overflowed are present, in this order.
        let q = 0;
        const take = (what: string) => {
          if (q + 8 > data.length) throw corrupt(`The zip64 field of "${decodeCp437(rawName)}" is too short`);
          const v = safeNumber(data.readBigUInt64LE(q), what);
          q += 8;
          return v;
        };
        if (entry.uncompressedSize === U32) entry.uncompressedSize = take('size');
        if (entry.compressedSize === U32) entry.compressedSize = take('compressed size');
        if (entry.localHeaderOffset === U32) entry.localHeaderOffset = take('offset');
      } else if (
        id === 0x7075 &&
        data.length >= 5 &&
        data[0] === 1 &&
        data.readUInt32LE(1) === crc32(rawName)
      ) {
        unicodeName = data.subarray(5).toString('utf8');
      }
      e += 4 + length;
    }
    // Windows tools write backslashes; they are separators, not name characters, in a zip.
    entry.name = (
      unicodeName ?? ((flags & 0x800) !== 0 ? rawName.toString('utf8') : decodeCp437(rawName))
    ).replace(/\\/g, '/');
    if (entry.localHeaderOffset + 30 > offset) {
      throw corrupt(`Entry "${entry.name}" points past the data area`);
    }
    entries.push(entry);
    p = next;
  }
  return { entries, dataEnd: offset };
}
