import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { AwsChunkedDecoder, ChunkSignatureError, type ChunkSigning } from './chunked.js';
import { S3Error } from './errors.js';
import { FileSink } from './file-io.js';

/**
 * Streams a request body to a file, decoding aws-chunked framing and checking every integrity value the
 * client sent (x-amz-content-sha256, Content-MD5, x-amz-checksum-* headers or trailers) on the way, so no
 * object is ever held in memory.
 */

export interface Ingested {
  file: string;
  size: number;
  md5?: string;
  /** Verified or client-asserted checksums by algorithm (`crc32`, `sha256`, ...), base64 as S3 uses. */
  checksums: Record<string, string>;
}

const CHECKSUM_PREFIX = 'x-amz-checksum-';

export async function ingest(
  req: IncomingMessage,
  file: string,
  wantMd5: boolean,
  signing?: ChunkSigning,
): Promise<Ingested> {
  const headers = req.headers;
  const contentSha = String(headers['x-amz-content-sha256'] ?? '');
  const encoding = String(headers['content-encoding'] ?? '');
  const chunked = contentSha.startsWith('STREAMING-') || /\baws-chunked\b/.test(encoding);
  const trailerNames = String(headers['x-amz-trailer'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const algorithms = new Set<string>();
  for (const name of [...Object.keys(headers), ...trailerNames]) {
    if (name.startsWith(CHECKSUM_PREFIX) && name !== 'x-amz-checksum-type') {
      algorithms.add(name.slice(CHECKSUM_PREFIX.length));
    }
  }
  const contentMd5 = headers['content-md5'] as string | undefined;
  const hashes: Record<string, Hash> = {};
  if (wantMd5 || contentMd5) hashes.md5 = createHash('md5');
  // The signed payload SHA-256 is checked when no cheaper checksum (x-amz-checksum-*, Content-MD5) covers the
  // body: SHA-256 costs ~4x more than writing to the page cache, and a verified CRC32 already proves the bytes
  // arrived intact. This is the one integrity check the local S3 relaxes compared with S3.
  const verified = ['crc32', 'sha1', 'sha256'].some((a) => algorithms.has(a));
  if (/^[0-9a-f]{64}$/.test(contentSha) && !verified && !contentMd5) {
    hashes.payload = createHash('sha256');
  }
  if (algorithms.has('sha256')) hashes.sha256 = createHash('sha256');
  if (algorithms.has('sha1')) hashes.sha1 = createHash('sha1');
  let crc = algorithms.has('crc32') ? 0 : -1;
  let size = 0;

  const decoder = chunked ? new AwsChunkedDecoder(signing) : undefined;
  const hashList = Object.values(hashes);
  const sink = new FileSink(file);
  // Checksums are taken as each chunk arrives, while it is still in the CPU cache and while the thread pool
  // writes earlier chunks to the file.
  (decoder ?? req).on('data', (chunk: Buffer) => {
    size += chunk.length;
    for (const h of hashList) h.update(chunk);
    if (crc >= 0) crc = crc32(chunk, crc);
  });
  try {
    if (decoder) await pipeline(req, decoder, sink);
    else await pipeline(req, sink);
  } catch (err) {
    if (err instanceof S3Error) throw err;
    if (err instanceof ChunkSignatureError) throw new S3Error('SignatureDoesNotMatch', err.message, 403);
    throw new S3Error('IncompleteBody', `The request body could not be read: ${(err as Error).message}`, 400);
  }

  const declared =
    headers['x-amz-decoded-content-length'] ?? (chunked ? undefined : headers['content-length']);
  if (declared !== undefined && Number(declared) !== size) {
    throw new S3Error(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length',
      400,
    );
  }
  const payload = hashes.payload?.digest('hex');
  if (payload !== undefined && payload !== contentSha) {
    throw new S3Error(
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      400,
    );
  }
  const md5 = hashes.md5?.digest();
  if (contentMd5 && md5 && md5.toString('base64') !== contentMd5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);
  }

  const computed: Record<string, string> = {};
  if (crc >= 0) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc >>> 0);
    computed.crc32 = b.toString('base64');
  }
  if (hashes.sha256) computed.sha256 = hashes.sha256.digest('base64');
  if (hashes.sha1) computed.sha1 = hashes.sha1.digest('base64');

  const checksums: Record<string, string> = {};
  for (const alg of algorithms) {
    const name = CHECKSUM_PREFIX + alg;
    const sent = (headers[name] as string | undefined) ?? decoder?.trailers[name];
    if (sent === undefined) continue;
    if (computed[alg] !== undefined && computed[alg] !== sent) {
      throw new S3Error(
        'BadDigest',
        `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`,
        400,
      );
    }
    // crc32c / crc64nvme are recorded as sent: Node has no native implementation and S3 echoes them.
    checksums[alg] = sent;
  }
  return { file, size, ...(md5 ? { md5: md5.toString('hex') } : {}), checksums };
}
