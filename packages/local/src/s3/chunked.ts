import { createHash, createHmac, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** What verifying chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies) needs from the request. */
export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  /** The request's header signature, which the first chunk signature chains from. */
  seedSignature: string;
}

export class ChunkSignatureError extends Error {}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Decodes `Content-Encoding: aws-chunked` bodies, which the SDK sends by default for streaming uploads so
 * that it can append a checksum trailer (`x-amz-checksum-crc32:...`) after the data. Framing:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n <data>\r\n ... 0[;...]\r\n [<trailer>:<value>\r\n]* \r\n
 *
 * Data is passed through as slices of the incoming buffers, without copying. With `signing`, every chunk
 * signature is checked against the chain that starts at the request's seed signature, as S3 does.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  #state: 'size' | 'data' | 'dataEnd' | 'trailer' | 'done' = 'size';
  #remaining = 0;
  #line = '';
  #decoded = 0;
  #previous: string | undefined;
  #chunkSignature: string | undefined;
  #chunkHash: Hash | undefined;

  constructor(private readonly signing?: ChunkSigning) {
    // Data leaves as slices of 64 KiB socket reads; a 16 KiB buffer would stall the body every other read.
    super({ highWaterMark: 1 << 20 });
    this.#previous = signing?.seedSignature;
  }

  get decodedLength(): number {
    return this.#decoded;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      let i = 0;
      while (i < chunk.length) {
        if (this.#state === 'data') {
          const take = Math.min(this.#remaining, chunk.length - i);
          this.push(chunk.subarray(i, i + take));
          this.#chunkHash?.update(chunk.subarray(i, i + take));
          this.#decoded += take;
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) {
            this.#verifyChunk();
            this.#state = 'dataEnd';
          }
          continue;
        }
        if (this.#state === 'done') {
          // Anything after the final CRLF is ignored, as S3 does.
          break;
        }
        // Line-oriented states: read up to LF.
        const lf = chunk.indexOf(0x0a, i);
        const end = lf < 0 ? chunk.length : lf;
        this.#line += chunk.toString('latin1', i, end);
        if (this.#line.length > 8192) throw new Error('aws-chunked line too long');
        i = lf < 0 ? chunk.length : lf + 1;
        if (lf < 0) break;
        const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
        this.#line = '';
        this.#onLine(line);
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #onLine(line: string): void {
    switch (this.#state) {
      case 'dataEnd':
        if (line !== '') throw new Error('aws-chunked: missing CRLF after chunk data');
        this.#state = 'size';
        return;
      case 'size': {
        const sizeText = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`aws-chunked: bad chunk size "${sizeText}"`);
        const size = Number.parseInt(sizeText, 16);
        if (this.signing) {
          this.#chunkSignature = /;\s*chunk-signature=([0-9a-f]{64})/.exec(line)?.[1];
          this.#chunkHash = createHash('sha256');
        }
        if (size === 0) {
          this.#verifyChunk();
          this.#state = 'trailer';
        } else {
          this.#remaining = size;
          this.#state = 'data';
        }
        return;
      }
      case 'trailer': {
        if (line === '') {
          this.#state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon > 0)
          this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        return;
      }
      default:
        return;
    }
  }

  #verifyChunk(): void {
    const signing = this.signing;
    if (!signing) return;
    if (!this.#chunkSignature) throw new ChunkSignatureError('aws-chunked: a chunk has no chunk-signature');
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      signing.amzDate,
      signing.scope,
      this.#previous,
      EMPTY_SHA256,
      this.#chunkHash!.digest('hex'),
    ].join('\n');
    const expected = createHmac('sha256', signing.signingKey).update(stringToSign).digest('hex');
    if (expected !== this.#chunkSignature) {
      throw new ChunkSignatureError(
        'The chunk signature we calculated does not match the signature you provided.',
      );
    }
    this.#previous = expected;
  }

  override _flush(callback: TransformCallback): void {
    // A body that ends right after the trailers (without the final empty line) is accepted too.
    if (this.#state === 'done' || this.#state === 'trailer') callback();
    else callback(new Error('aws-chunked: body ended early'));
  }
}
