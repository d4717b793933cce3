import { Transform, type TransformCallback } from 'node:stream';

/**
 * Decodes `Content-Encoding: aws-chunked` bodies, which the SDK sends by default for streaming uploads so
 * that it can append a checksum trailer (`x-amz-checksum-crc32:...`) after the data. Framing:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n <data>\r\n ... 0[;...]\r\n [<trailer>:<value>\r\n]* \r\n
 *
 * Data is passed through as slices of the incoming buffers, without copying. Chunk signatures are not
 * checked: the seed signature of the request headers is (see sigv4.ts).
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  #state: 'size' | 'data' | 'dataEnd' | 'trailer' | 'done' = 'size';
  #remaining = 0;
  #line = '';
  #decoded = 0;

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
          this.#decoded += take;
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = 'dataEnd';
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
        if (size === 0) this.#state = 'trailer';
        else {
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

  override _flush(callback: TransformCallback): void {
    // A body that ends right after the trailers (without the final empty line) is accepted too.
    if (this.#state === 'done' || this.#state === 'trailer') callback();
    else callback(new Error('aws-chunked: body ended early'));
  }
}
