import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { signingKey } from '../sigv4.js';
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

describe('chunk signatures', () => {
  // The worked example of AWS's "Signature Calculations for the Authorization Header: Transferring Payload in
  // Multiple Chunks": 66560 bytes of 'a' in chunks of 65536 and 1024, then the final empty chunk.
  const signing = {
    signingKey: signingKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
  const body = (last = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9') =>
    Buffer.concat([
      Buffer.from(
        '10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n',
      ),
      Buffer.alloc(65536, 'a'),
      Buffer.from(
        '\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n',
      ),
      Buffer.alloc(1024, 'a'),
      Buffer.from(`\r\n0;chunk-signature=${last}\r\n\r\n`),
    ]);

  it('verifies the chain of chunk signatures from AWS documentation example', async () => {
    const out = await buffer(Readable.from([body()]).pipe(new AwsChunkedDecoder(signing)));
    expect(out.length).toBe(66560);
  });

  it('rejects a wrong chunk signature', async () => {
    await expect(
      buffer(Readable.from([body('0'.repeat(64))]).pipe(new AwsChunkedDecoder(signing))),
    ).rejects.toThrow(/chunk signature/);
  });
});
