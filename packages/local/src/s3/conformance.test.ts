import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../stack.js';

/**
 * Checks the S3 responses against the S3 model compiled into @aws-sdk/client-s3: XML element names (root
 * xmlName, member names or their xmlName, flattened and wrapped lists) and x-amz-* response headers (each must
 * be a member's httpHeader of the operation's output).
 */

const model = createRequire(import.meta.url)('@aws-sdk/client-s3') as Record<string, unknown>;
type Schema = unknown;
const resolve = (s: Schema): Schema => (typeof s === 'function' ? resolve((s as () => Schema)()) : s);
const isSchema = (s: unknown): s is unknown[] =>
  Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'string';
/** A member is `ref` or `[ref, traits]`; traits are an object or a bit set (16 is httpPayload in smithy's encoding). */
const split = (m: Schema): [Schema, Record<string, unknown>] => {
  if (!Array.isArray(m) || isSchema(m)) return [m, {}];
  const t = m[1];
  if (typeof t === 'number') return [m[0], t & 16 ? { httpPayload: true } : {}];
  return [m[0], (t ?? {}) as Record<string, unknown>];
};
const traitsOf = (s: unknown[]) =>
  typeof s[3] === 'object' && s[3] ? (s[3] as Record<string, unknown>) : {};

interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack = [root];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([A-Za-z0-9]+)[^>]*?(\/?)>|([^<]+)/g)) {
    const top = stack.at(-1)!;
    if (m[4] !== undefined) top.text += m[4];
    else if (m[1]) stack.pop();
    else {
      const node: XmlNode = { name: m[2]!, children: [], text: '' };
      top.children.push(node);
      if (!m[3]) stack.push(node);
    }
  }
  return root.children[0]!;
}

function checkXml(node: XmlNode, schema: Schema, path: string, problems: string[]): void {
  const s = resolve(schema);
  if (typeof s === 'number') {
    if (s === 1 && !/^-?\d+$/.test(node.text)) problems.push(`${path}: expected a number, got ${node.text}`);
    if (s === 2 && !/^(true|false)$/.test(node.text))
      problems.push(`${path}: expected a boolean, got ${node.text}`);
    return;
  }
  if (!isSchema(s) || s[0] !== 3) return;
  const names = s[4] as string[];
  const members = (s[5] as Schema[]).map(split);
  for (const child of node.children) {
    const i = members.findIndex(([, t], j) => (t.xmlName ?? names[j]) === child.name && !t.httpHeader);
    if (i < 0) {
      problems.push(`${path}.${child.name}: not a member of ${s[2]}`);
      continue;
    }
    const [ref, traits] = members[i]!;
    const target = resolve(ref);
    if (isSchema(target) && target[0] === 1) {
      const [item, itemTraits] = split(target[4]);
      if (traits.xmlFlattened) checkXml(child, item, `${path}.${child.name}`, problems);
      else {
        for (const el of child.children) {
          const want = (itemTraits.xmlName as string | undefined) ?? 'member';
          if (el.name !== want) problems.push(`${path}.${child.name}.${el.name}: list items are <${want}>`);
          checkXml(el, item, `${path}.${child.name}.${el.name}`, problems);
        }
      }
    } else checkXml(child, ref, `${path}.${child.name}`, problems);
  }
}

function checkHeaders(op: string, headers: Record<string, string>, problems: string[]): void {
  const out = resolve((model[`${op}$`] as unknown[])[5]);
  const allowed = new Set(['x-amz-request-id', 'x-amz-id-2', 'x-amz-bucket-region']);
  if (isSchema(out) && out[0] === 3) {
    for (const m of out[5] as Schema[]) {
      const [, t] = split(m);
      if (typeof t.httpHeader === 'string') allowed.add(t.httpHeader.toLowerCase());
      if (typeof t.httpPrefixHeaders === 'string') allowed.add(`${t.httpPrefixHeaders.toLowerCase()}*`);
    }
  }
  for (const h of Object.keys(headers)) {
    if (!h.startsWith('x-amz-')) continue;
    const prefixed = [...allowed].some((a) => a.endsWith('*') && h.startsWith(a.slice(0, -1)));
    if (!allowed.has(h) && !prefixed) problems.push(`${op}: header ${h} is not in ${op}Output`);
  }
}

let stack: LocalStack;
const seen: { op: string; status: number; headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(() => stack.stop());

describe('S3 conformance with the model shipped in @aws-sdk/client-s3', () => {
  it('XML bodies and x-amz-* headers of every implemented operation', async () => {
    const s3 = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 1 });
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const response = result.response as {
          body: Readable;
          statusCode: number;
          headers: Record<string, string>;
        };
        const op = String(context.commandName).replace(/Command$/, '');
        let body = '';
        if (op !== 'GetObject' && response.body) {
          const chunks: Buffer[] = [];
          for await (const c of response.body) chunks.push(Buffer.from(c));
          body = Buffer.concat(chunks).toString('utf8');
          response.body = Readable.from([Buffer.from(body)]);
        }
        seen.push({ op, status: response.statusCode, headers: response.headers, body });
        return result;
      },
      { step: 'deserialize', priority: 'low', name: 'recordRawResponse' },
    );
    const Bucket = 'conformance';
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new HeadBucketCommand({ Bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'a/1',
        Body: 'one',
        ServerSideEncryption: 'aws:kms',
        Metadata: { m: 'v' },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a/2', Body: 'two' }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'a/1' }));
    await got.Body!.transformToString();
    await (
      await s3.send(new GetObjectCommand({ Bucket, Key: 'a/2', Range: 'bytes=0-1' }))
    ).Body!.transformToString();
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'a/1' }));
    await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/', MaxKeys: 1 }));
    await s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: 'a/', MaxKeys: 1, StartAfter: 'a/0', EncodingType: 'url' }),
    );
    await s3.send(new ListBucketsCommand({}));
    await new Upload({
      client: s3,
      params: {
        Bucket,
        Key: 'big',
        Body: Buffer.alloc(11 * 1024 * 1024, 7),
        ServerSideEncryption: 'aws:kms',
      },
    }).done();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'aborted' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'aborted', UploadId }));
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'a/3',
        CopySource: `${Bucket}/a/1`,
        ServerSideEncryption: 'aws:kms',
      }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'a/2' }));

    const problems: string[] = [];
    const ops = new Set(seen.map((r) => r.op));
    for (const op of [
      'CreateBucket',
      'HeadBucket',
      'PutObject',
      'GetObject',
      'HeadObject',
      'ListObjectsV2',
      'ListBuckets',
      'CreateMultipartUpload',
      'UploadPart',
      'CompleteMultipartUpload',
      'AbortMultipartUpload',
      'DeleteObject',
      'CopyObject',
    ]) {
      expect(ops, `no response recorded for ${op}`).toContain(op);
    }
    for (const r of seen) {
      checkHeaders(r.op, r.headers, problems);
      if (!r.body.trim().startsWith('<')) continue;
      let output = resolve((model[`${r.op}$`] as unknown[])[5]) as unknown[];
      // Outputs like CopyObjectOutput carry the XML document in one member marked httpPayload.
      const payload = (output[5] as Schema[]).map(split).find(([, t]) => t.httpPayload);
      if (payload) output = resolve(payload[0]) as unknown[];
      const root = parseXml(r.body);
      const want = (traitsOf(output).xmlName as string | undefined) ?? (output[2] as string);
      if (root.name !== want) problems.push(`${r.op}: root element <${root.name}>, the model says <${want}>`);
      checkXml(root, output, r.op, problems);
    }
    expect(problems).toEqual([]);
  });

  it('the checker notices unknown elements and headers', () => {
    const problems: string[] = [];
    checkXml(
      parseXml('<ListBucketResult><Bogus>1</Bogus><KeyCount>x</KeyCount></ListBucketResult>'),
      model.ListObjectsV2Output$,
      'L',
      problems,
    );
    checkHeaders('GetObject', { 'x-amz-made-up': '1', 'x-amz-server-side-encryption': 'aws:kms' }, problems);
    expect(problems).toEqual([
      'L.Bogus: not a member of ListObjectsV2Output',
      'L.KeyCount: expected a number, got x',
      'GetObject: header x-amz-made-up is not in GetObjectOutput',
    ]);
  });
});
