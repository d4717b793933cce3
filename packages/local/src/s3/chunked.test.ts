import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from './chunked.js';

const decode = async (parts: string[]) => {
  const d = new AwsChunkedDecoder();
  const out = await buffer(Readable.from(parts.map((p) => Buffer.from(p))).pipe(d));
  return { text: out.toString(), trailers: d.trailers };
};

describe('aws-chunked decoding', () => {
  it('decodes unsigned chunks with a checksum trailer, split at any byte', async () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n';
    for (let cut = 1; cut < body.length; cut += 3) {
      const r = await decode([body.slice(0, cut), body.slice(cut)]);
      expect(r.text).toBe('hello world');
      expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
    }
  });

  it('decodes signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD framing)', async () => {
    const sig = 'a'.repeat(64);
    const r = await decode([`3;chunk-signature=${sig}\r\nabc\r\n0;chunk-signature=${sig}\r\n\r\n`]);
    expect(r.text).toBe('abc');
  });

  it('rejects truncated or malformed framing', async () => {
    await expect(decode(['5\r\nhel'])).rejects.toThrow(/ended early/);
    await expect(decode(['zz\r\nhello\r\n'])).rejects.toThrow(/bad chunk size/);
  });
});
