import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { CredentialStore, Principal } from '../credentials.js';
import type { Faults } from '../faults.js';
import { readBody, requestId, send, sleep } from '../http.js';
import {
  amzDateMs,
  parseAuthorization,
  parseQueryAuthorization,
  SigV4Error,
  signingKey,
  verifySignature,
} from '../sigv4.js';
import type { ChunkSigning } from './chunked.js';
import { accessDenied, noSuchBucket, noSuchKey, S3Error } from './errors.js';
import { sendSegments } from './file-io.js';
import { ingest } from './ingest.js';
import type { ObjectMeta, ObjectStore } from './store.js';
import { blocks, document, element, text } from './xml.js';

export interface S3ServerOptions {
  store: ObjectStore;
  credentials: CredentialStore;
  faults: Faults;
  region: string;
  accountId: string;
  /** Buckets that deny uploads without `x-amz-server-side-encryption: aws:kms`, like CodePipeline's policy. */
  kmsRequiredBuckets: Set<string>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: string;
  key: string;
  query: URLSearchParams;
  op: string;
  id: string;
  /** False while a client that sent `Expect: 100-continue` still waits to send the body. */
  continued: boolean;
  /** Set for signed streaming uploads, whose chunk signatures are checked while the body is read. */
  signing?: ChunkSigning;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Names the S3 operation of a path-style request, for authorization, faults and dispatch. */
export function operationOf(
  method: string,
  bucket: string,
  key: string,
  q: URLSearchParams,
  copySource?: string,
): string {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  if (!key) {
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    if (method === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return 'Unknown';
  }
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'PUT' && q.has('uploadId')) return 'UploadPart';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'PUT') return copySource ? 'CopyObject' : 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  return 'Unknown';
}

const READ_OPS = new Set(['GetObject', 'HeadObject']);
const WRITE_OPS = new Set([
  'PutObject',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
]);

export function createS3Server(options: S3ServerOptions): Server {
  const server = createServer({ highWaterMark: 1 << 20 } as object, (req, res) => {
    void handle(options, req, res, true);
  });
  // Like S3, decide on `Expect: 100-continue` uploads before the body is sent: a denied upload costs nothing.
  server.on('checkContinue', (req, res) => {
    void handle(options, req, res, false);
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

async function handle(
  o: S3ServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  continued: boolean,
): Promise<void> {
  const id = requestId();
  const url = new URL(req.url ?? '/', 'http://local');
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const slash = path.indexOf('/', 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  const copySource = req.headers['x-amz-copy-source'] as string | undefined;
  const op = operationOf(req.method ?? 'GET', bucket, key, url.searchParams, copySource);
  const ctx: Ctx = { req, res, bucket, key, query: url.searchParams, op, id, continued };
  res.setHeader('x-amz-request-id', id);
  try {
    const fault = o.faults.decide('s3', op);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.throttle) throw new S3Error('SlowDown', 'Please reduce your request rate.', 503);
    if (fault.serverError)
      throw new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500);
    const principal = authenticate(o, ctx);
    authorize(o, principal, ctx);
    if (!ctx.continued) {
      res.writeContinue();
      ctx.continued = true;
    }
    await dispatch(o, ctx, fault.reset);
  } catch (err) {
    sendError(ctx, err);
  }
}

function sendError(ctx: Ctx, err: unknown): void {
  const { req, res } = ctx;
  const e =
    err instanceof S3Error
      ? err
      : new S3Error('InternalError', `We encountered an internal error: ${(err as Error).message}`, 500);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A client still waiting for 100-continue never sends the body: answer and close the connection.
  // Otherwise the body may be unread (an upload rejected up front): drain it to keep the connection usable.
  const headers: Record<string, string> = ctx.continued ? {} : { connection: 'close' };
  if (ctx.continued && !req.readableEnded) req.resume();
  if (req.method === 'HEAD' || e.status === 304)
    send(res, e.status, undefined, { ...headers, 'x-amz-error-code': e.code });
  else send(res, e.status, e.toXml(ctx.id), { ...headers, 'content-type': 'application/xml' });
}

function authenticate(o: S3ServerOptions, ctx: Ctx): Principal {
  const { req, query } = ctx;
  let auth: ReturnType<typeof parseAuthorization>;
  let presigned: ReturnType<typeof parseQueryAuthorization>;
  try {
    presigned = parseQueryAuthorization(query);
    auth = presigned ?? parseAuthorization(req.headers.authorization);
  } catch (err) {
    throw new S3Error('AccessDenied', (err as Error).message, 403);
  }
  if (presigned && Date.now() > amzDateMs(presigned.amzDate) + presigned.expiresSeconds * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', 403);
  }
  const found = o.credentials.lookup(auth.accessKeyId);
  if (!found) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      403,
    );
  }
  if (auth.service !== 's3' || auth.region !== o.region) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the credential scope must be <date>/${o.region}/s3/aws4_request.`,
      400,
    );
  }
  // A presigned URL never covers the payload.
  const payloadHash = presigned ? 'UNSIGNED-PAYLOAD' : String(req.headers['x-amz-content-sha256'] ?? '');
  if (!payloadHash)
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: x-amz-content-sha256',
      400,
    );
  try {
    verifySignature({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      auth,
      secretAccessKey: found.secret,
      payloadHash,
      doubleEncodePath: false,
      ...(presigned ? { amzDate: presigned.amzDate } : {}),
    });
  } catch (err) {
    if (err instanceof SigV4Error)
      throw new S3Error(err.code, err.message, err.code === 'AuthorizationHeaderMalformed' ? 400 : 403);
    throw err;
  }
  if (payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD')) {
    ctx.signing = {
      signingKey: signingKey(found.secret, auth.date, auth.region, auth.service),
      amzDate: String(req.headers['x-amz-date']),
      scope: `${auth.date}/${auth.region}/${auth.service}/aws4_request`,
      seedSignature: auth.signature,
    };
  }
  if (found.principal.kind === 'session') {
    const s = found.principal.session;
    if ((presigned ? presigned.sessionToken : req.headers['x-amz-security-token']) !== s.sessionToken) {
      throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
    }
    if (Date.now() >= s.expiresAt) throw new S3Error('ExpiredToken', 'The provided token has expired.', 400);
  }
  return found.principal;
}

/** Job credentials reach only their own job's objects, like the session policy CodePipeline attaches. */
function authorize(o: S3ServerOptions, principal: Principal, ctx: Ctx): void {
  if (
    (ctx.op === 'PutObject' || ctx.op === 'CopyObject' || ctx.op === 'CreateMultipartUpload') &&
    o.kmsRequiredBuckets.has(ctx.bucket) &&
    ctx.req.headers['x-amz-server-side-encryption'] !== 'aws:kms'
  ) {
    throw accessDenied('Access Denied: this bucket requires x-amz-server-side-encryption: aws:kms');
  }
  if (principal.kind === 'admin') return;
  const scope = principal.session.scope;
  const allowed =
    scope.bucket === ctx.bucket &&
    ((READ_OPS.has(ctx.op) && (scope.readKeys.includes(ctx.key) || scope.writeKeys.includes(ctx.key))) ||
      (WRITE_OPS.has(ctx.op) && scope.writeKeys.includes(ctx.key)));
  if (!allowed) throw accessDenied();
  if (ctx.op === 'CopyObject') {
    const src = parseCopySource(String(ctx.req.headers['x-amz-copy-source']));
    const readable =
      src.bucket === scope.bucket && (scope.readKeys.includes(src.key) || scope.writeKeys.includes(src.key));
    if (!readable) throw accessDenied();
  }
}

async function dispatch(o: S3ServerOptions, ctx: Ctx, reset: boolean): Promise<void> {
  const { store } = o;
  if (ctx.op === 'ListBuckets') return listBuckets(o, ctx);
  if (ctx.op === 'CreateBucket') {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(ctx.bucket)) {
      throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', 400, {
        BucketName: ctx.bucket,
      });
    }
    await readBody(ctx.req);
    if (!store.createBucket(ctx.bucket)) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
        { BucketName: ctx.bucket },
      );
    }
    return send(ctx.res, 200, undefined, { location: `/${ctx.bucket}` });
  }
  if (!store.hasBucket(ctx.bucket)) throw noSuchBucket(ctx.bucket);
  switch (ctx.op) {
    case 'HeadBucket':
      return send(ctx.res, 200, undefined, { 'x-amz-bucket-region': o.region });
    case 'DeleteBucket': {
      const r = store.deleteBucket(ctx.bucket);
      if (r === 'notEmpty')
        throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
      return send(ctx.res, 204, undefined);
    }
    case 'ListObjectsV2':
      return listObjectsV2(o, ctx);
    case 'PutObject':
      return putObject(o, ctx);
    case 'CopyObject':
      return copyObject(o, ctx);
    case 'GetObject':
    case 'HeadObject':
      return getObject(o, ctx, reset);
    case 'DeleteObject':
      store.delete(ctx.bucket, ctx.key);
      return send(ctx.res, 204, undefined);
    case 'CreateMultipartUpload':
      return createMultipartUpload(o, ctx);
    case 'UploadPart':
      return uploadPart(o, ctx);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(o, ctx);
    case 'AbortMultipartUpload':
      if (!store.upload(ctx.bucket, ctx.query.get('uploadId') ?? '')) throw noSuchUpload();
      store.endUpload(ctx.bucket, ctx.query.get('uploadId') ?? '');
      return send(ctx.res, 204, undefined);
    default:
      throw new S3Error(
        'NotImplemented',
        `The local stack does not implement ${ctx.req.method} ${ctx.op}.`,
        501,
      );
  }
}

const noSuchUpload = () =>
  new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    404,
  );

function sseFromRequest(o: S3ServerOptions, req: IncomingMessage): { sse?: string; kmsKeyId?: string } {
  const sse = req.headers['x-amz-server-side-encryption'] as string | undefined;
  if (sse === undefined) return {};
  if (sse !== 'aws:kms' && sse !== 'AES256' && sse !== 'aws:kms:dsse') {
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', 400);
  }
  if (sse === 'AES256') return { sse };
  const given = req.headers['x-amz-server-side-encryption-aws-kms-key-id'] as string | undefined;
  // Without a key id S3 uses the account's AWS managed key for S3 (aws/s3) and reports its ARN.
  return { sse, kmsKeyId: given ?? `arn:aws:kms:${o.region}:${o.accountId}:alias/aws/s3` };
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (k.startsWith('x-amz-meta-')) out[k.slice(11)] = String(v);
  return out;
}

function sseHeaders(m: { sse?: string; kmsKeyId?: string }): Record<string, string> {
  const h: Record<string, string> = {};
  if (m.sse) h['x-amz-server-side-encryption'] = m.sse;
  if (m.kmsKeyId) h['x-amz-server-side-encryption-aws-kms-key-id'] = m.kmsKeyId;
  return h;
}

/** S3's ETag is the MD5 of the content, except for SSE-KMS objects, where it is an opaque value. */
const opaqueEtag = () => randomBytes(16).toString('hex');

async function putObject(o: S3ServerOptions, ctx: Ctx): Promise<void> {
  const sse = sseFromRequest(o, ctx.req);
  const file = o.store.newFile();
  let got: Awaited<ReturnType<typeof ingest>>;
  try {
    got = await ingest(ctx.req, file, !sse.sse?.startsWith('aws:kms'), ctx.signing);
  } catch (err) {
    o.store.discard([file]);
    throw err;
  }
  const [algorithm, value] = Object.entries(got.checksums)[0] ?? [];
  const encoding = String(ctx.req.headers['content-encoding'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked')
    .join(', ');
  const meta: ObjectMeta = {
    key: ctx.key,
    size: got.size,
    etag: `"${got.md5 ?? opaqueEtag()}"`,
    lastModified: Date.now(),
    ...(ctx.req.headers['content-type'] ? { contentType: String(ctx.req.headers['content-type']) } : {}),
    ...(encoding ? { contentEncoding: encoding } : {}),
    ...sse,
    metadata: userMetadata(ctx.req),
    ...(algorithm && value ? { checksum: { algorithm, value, type: 'FULL_OBJECT' as const } } : {}),
    segments: [{ file, size: got.size }],
  };
  o.store.put(ctx.bucket, meta);
  const headers: Record<string, string> = { etag: meta.etag, ...sseHeaders(meta) };
  if (meta.checksum) headers[`x-amz-checksum-${meta.checksum.algorithm}`] = meta.checksum.value;
  send(ctx.res, 200, undefined, headers);
}

function parseCopySource(header: string): { bucket: string; key: string } {
  const raw = decodeURIComponent(header.split('?', 1)[0]!).replace(/^\//, '');
  const slash = raw.indexOf('/');
  if (slash < 1)
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key', 400);
  return { bucket: raw.slice(0, slash), key: raw.slice(slash + 1) };
}

async function copyObject(o: S3ServerOptions, ctx: Ctx): Promise<void> {
  await readBody(ctx.req);
  const from = parseCopySource(String(ctx.req.headers['x-amz-copy-source']));
  if (!o.store.hasBucket(from.bucket)) throw noSuchBucket(from.bucket);
  const src = o.store.get(from.bucket, from.key);
  if (!src) throw noSuchKey(from.key);
  const sse = sseFromRequest(o, ctx.req);
  const replace = ctx.req.headers['x-amz-metadata-directive'] === 'REPLACE';
  // Data is copied, not shared: deleting either object must not affect the other.
  const file = o.store.newFile();
  await pipeline(o.store.read(src), createWriteStream(file, { highWaterMark: 1 << 20 }));
  const meta: ObjectMeta = {
    ...src,
    key: ctx.key,
    lastModified: Date.now(),
    // A single-part copy has the same MD5; the MD5 of a multipart source is not known without reading it.
    etag: sse.sse?.startsWith('aws:kms') || src.etag.includes('-') ? `"${opaqueEtag()}"` : src.etag,
    metadata: replace ? userMetadata(ctx.req) : src.metadata,
    ...(replace && ctx.req.headers['content-type']
      ? { contentType: String(ctx.req.headers['content-type']) }
      : {}),
    sse: sse.sse,
    kmsKeyId: sse.kmsKeyId,
    segments: [{ file, size: src.size }],
  };
  if (!meta.sse) delete meta.sse;
  if (!meta.kmsKeyId) delete meta.kmsKeyId;
  o.store.put(ctx.bucket, meta);
  const inner = `${element('LastModified', new Date(meta.lastModified).toISOString())}${element('ETag', meta.etag)}`;
  send(ctx.res, 200, document('CopyObjectResult', inner), {
    'content-type': 'application/xml',
    ...sseHeaders(meta),
  });
}

/**
 * If-Match / If-None-Match / If-(Un)Modified-Since, as S3 evaluates them: a resumed download sends If-Match
 * with the ETag it started with, and must fail (412) rather than mix two versions of an object.
 */
function checkConditions(req: IncomingMessage, meta: ObjectMeta): void {
  const h = req.headers;
  const etags = (v: string | undefined) => (v ?? '').split(',').map((e) => e.trim());
  const matches = (v: string | undefined) =>
    etags(v).some((e) => e === '*' || e === meta.etag || `"${e}"` === meta.etag);
  const seconds = Math.floor(meta.lastModified / 1000) * 1000;
  const date = (v: string | undefined) => (v === undefined ? Number.NaN : Date.parse(v));
  const failed = () =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, {
      Condition: 'If-Match',
    });
  if (h['if-match'] !== undefined) {
    if (!matches(h['if-match'])) throw failed();
  } else if (seconds > date(h['if-unmodified-since'] as string | undefined)) {
    throw failed();
  }
  const notModified = new S3Error('NotModified', 'Not Modified', 304);
  if (h['if-none-match'] !== undefined) {
    if (matches(h['if-none-match'])) throw notModified;
  } else if (seconds <= date(h['if-modified-since'] as string | undefined)) {
    throw notModified;
  }
}

function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores a malformed Range header.
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw invalidRange(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

const invalidRange = (size: number) =>
  new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
    ActualObjectSize: String(size),
  });

async function getObject(o: S3ServerOptions, ctx: Ctx, reset: boolean): Promise<void> {
  const meta = o.store.get(ctx.bucket, ctx.key);
  if (!meta) throw noSuchKey(ctx.key);
  checkConditions(ctx.req, meta);
  const rangeHeader = ctx.req.headers.range;
  const range = rangeHeader ? parseRange(rangeHeader, meta.size) : undefined;
  const start = range?.start ?? 0;
  const end = range?.end ?? meta.size - 1;
  const length = meta.size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = {
    'content-length': length,
    'content-type': meta.contentType ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: meta.etag,
    'last-modified': new Date(meta.lastModified).toUTCString(),
    ...sseHeaders(meta),
  };
  if (meta.contentEncoding) headers['content-encoding'] = meta.contentEncoding;
  for (const [k, v] of Object.entries(meta.metadata)) headers[`x-amz-meta-${k}`] = v;
  if (range) headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
  if (meta.checksum && !range && ctx.req.headers['x-amz-checksum-mode'] === 'ENABLED') {
    headers[`x-amz-checksum-${meta.checksum.algorithm}`] = meta.checksum.value;
    headers['x-amz-checksum-type'] = meta.checksum.type;
  }
  const status = range ? 206 : 200;
  if (ctx.op === 'HeadObject' || length === 0) {
    ctx.res.writeHead(status, headers);
    ctx.res.end();
    return;
  }
  ctx.res.writeHead(status, headers);
  // An injected reset sends about half of the body, then drops the connection, as a broken network would.
  const budget = reset ? Math.max(1, Math.floor(length / 2)) : Number.POSITIVE_INFINITY;
  await sendSegments(ctx.res, meta.segments, start, end, budget);
}

function listBuckets(o: S3ServerOptions, ctx: Ctx): void {
  const inner = o.store
    .bucketNames()
    .map(
      (b) =>
        `<Bucket>${element('Name', b.name)}${element('CreationDate', new Date(b.created).toISOString())}</Bucket>`,
    )
    .join('');
  const owner = `<Owner>${element('ID', o.accountId)}${element('DisplayName', 'local')}</Owner>`;
  send(ctx.res, 200, document('ListAllMyBucketsResult', `${owner}<Buckets>${inner}</Buckets>`), {
    'content-type': 'application/xml',
  });
}

function listObjectsV2(o: S3ServerOptions, ctx: Ctx): void {
  const q = ctx.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = Math.min(1000, Math.max(0, Number(q.get('max-keys') ?? 1000) || 0));
  const token = q.get('continuation-token');
  const startAfter = token ? Buffer.from(token, 'base64url').toString() : (q.get('start-after') ?? '');
  const urlEncode = q.get('encoding-type') === 'url';
  const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const contents: ObjectMeta[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = '';
  for (const key of o.store.keys(ctx.bucket)) {
    if (
      !key.startsWith(prefix) ||
      (startAfter && Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0)
    )
      continue;
    let common: string | undefined;
    if (delimiter) {
      const i = key.indexOf(delimiter, prefix.length);
      if (i >= 0) common = key.slice(0, i + delimiter.length);
    }
    if (common && prefixes.at(-1) === common) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (common) {
      prefixes.push(common);
      last = `${common}\u{10FFFF}`;
    } else {
      contents.push(o.store.get(ctx.bucket, key)!);
      last = key;
    }
  }
  const items = contents
    .map(
      (m) =>
        `<Contents>${element('Key', enc(m.key))}${element('LastModified', new Date(m.lastModified).toISOString())}${element('ETag', m.etag)}${element('Size', m.size)}${element('StorageClass', 'STANDARD')}</Contents>`,
    )
    .join('');
  const common = prefixes
    .map((p) => `<CommonPrefixes>${element('Prefix', enc(p))}</CommonPrefixes>`)
    .join('');
  const inner = [
    element('Name', ctx.bucket),
    element('Prefix', enc(prefix)),
    delimiter ? element('Delimiter', enc(delimiter)) : '',
    element('MaxKeys', maxKeys),
    element('KeyCount', contents.length + prefixes.length),
    element('IsTruncated', truncated),
    token ? element('ContinuationToken', token) : '',
    truncated ? element('NextContinuationToken', Buffer.from(last).toString('base64url')) : '',
    q.get('start-after') ? element('StartAfter', enc(q.get('start-after')!)) : '',
    urlEncode ? element('EncodingType', 'url') : '',
    items,
    common,
  ].join('');
  send(ctx.res, 200, document('ListBucketResult', inner), { 'content-type': 'application/xml' });
}

async function createMultipartUpload(o: S3ServerOptions, ctx: Ctx): Promise<void> {
  await readBody(ctx.req);
  const sse = sseFromRequest(o, ctx.req);
  const upload = o.store.createUpload(ctx.bucket, {
    key: ctx.key,
    ...(ctx.req.headers['content-type'] ? { contentType: String(ctx.req.headers['content-type']) } : {}),
    ...sse,
    metadata: userMetadata(ctx.req),
  });
  const inner = `${element('Bucket', ctx.bucket)}${element('Key', ctx.key)}${element('UploadId', upload.uploadId)}`;
  send(ctx.res, 200, document('InitiateMultipartUploadResult', inner), {
    'content-type': 'application/xml',
    ...sseHeaders(sse),
  });
}

async function uploadPart(o: S3ServerOptions, ctx: Ctx): Promise<void> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const partNumber = Number(ctx.query.get('partNumber'));
  const upload = o.store.upload(ctx.bucket, uploadId);
  if (!upload || upload.key !== ctx.key) throw noSuchUpload();
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new S3Error(
      'InvalidArgument',
      'Part number must be an integer between 1 and 10000, inclusive',
      400,
    );
  }
  const kms = upload.sse?.startsWith('aws:kms') ?? false;
  const file = o.store.newFile();
  let got: Awaited<ReturnType<typeof ingest>>;
  try {
    got = await ingest(ctx.req, file, !kms, ctx.signing);
  } catch (err) {
    o.store.discard([file]);
    throw err;
  }
  const etag = `"${got.md5 ?? opaqueEtag()}"`;
  const [algorithm, value] = Object.entries(got.checksums)[0] ?? [];
  o.store.putPart(ctx.bucket, uploadId, {
    partNumber,
    file,
    size: got.size,
    etag,
    ...(algorithm && value ? { checksum: { algorithm, value } } : {}),
  });
  const headers: Record<string, string> = { etag, ...sseHeaders(upload) };
  if (algorithm && value) headers[`x-amz-checksum-${algorithm}`] = value;
  send(ctx.res, 200, undefined, headers);
}

async function completeMultipartUpload(o: S3ServerOptions, ctx: Ctx): Promise<void> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = o.store.upload(ctx.bucket, uploadId);
  const body = (await readBody(ctx.req)).toString('utf8');
  if (!upload || upload.key !== ctx.key) throw noSuchUpload();
  const requested = blocks(body, 'Part').map((p) => ({
    partNumber: Number(text(p, 'PartNumber')),
    etag: (text(p, 'ETag') ?? '').replace(/^"?/, '"').replace(/"?$/, '"'),
  }));
  if (requested.length === 0) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema',
      400,
    );
  }
  const parts = [];
  let previous = 0;
  for (const r of requested) {
    if (r.partNumber <= previous) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        400,
      );
    }
    previous = r.partNumber;
    const part = upload.parts[r.partNumber];
    if (!part || part.etag !== r.etag) {
      throw new S3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        400,
      );
    }
    parts.push(part);
  }
  parts.forEach((p, i) => {
    if (i < parts.length - 1 && p.size < MIN_PART_SIZE) {
      throw new S3Error(
        'EntityTooSmall',
        'Your proposed upload is smaller than the minimum allowed object size.',
        400,
      );
    }
  });
  const kms = upload.sse?.startsWith('aws:kms') ?? false;
  const etag = kms
    ? `"${opaqueEtag()}-${parts.length}"`
    : `"${createHash('md5')
        .update(Buffer.concat(parts.map((p) => Buffer.from(p.etag.slice(1, -1), 'hex'))))
        .digest('hex')}-${parts.length}"`;
  const algorithm = parts[0]?.checksum?.algorithm;
  let checksum: ObjectMeta['checksum'];
  if (algorithm && parts.every((p) => p.checksum?.algorithm === algorithm)) {
    // S3's composite checksum: the checksum of the concatenated binary part checksums, suffixed -N.
    if (algorithm === 'sha256' || algorithm === 'sha1') {
      const h = createHash(algorithm);
      for (const p of parts) h.update(Buffer.from(p.checksum!.value, 'base64'));
      checksum = { algorithm, value: `${h.digest('base64')}-${parts.length}`, type: 'COMPOSITE' };
    } else if (algorithm === 'crc32') {
      const { crc32 } = await import('node:zlib');
      let c = 0;
      for (const p of parts) c = crc32(Buffer.from(p.checksum!.value, 'base64'), c);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(c >>> 0);
      checksum = { algorithm, value: `${b.toString('base64')}-${parts.length}`, type: 'COMPOSITE' };
    }
  }
  const meta: ObjectMeta = {
    key: ctx.key,
    size: parts.reduce((n, p) => n + p.size, 0),
    etag,
    lastModified: Date.now(),
    ...(upload.contentType ? { contentType: upload.contentType } : {}),
    ...(upload.sse ? { sse: upload.sse } : {}),
    ...(upload.kmsKeyId ? { kmsKeyId: upload.kmsKeyId } : {}),
    metadata: upload.metadata,
    ...(checksum ? { checksum } : {}),
    segments: parts.map((p) => ({ file: p.file, size: p.size })),
  };
  o.store.put(ctx.bucket, meta);
  o.store.endUpload(ctx.bucket, uploadId, new Set(parts.map((p) => p.file)));
  const host = ctx.req.headers.host ?? '127.0.0.1';
  const inner = [
    element('Location', `http://${host}/${ctx.bucket}/${ctx.key}`),
    element('Bucket', ctx.bucket),
    element('Key', ctx.key),
    element('ETag', etag),
    checksum ? element(`Checksum${checksum.algorithm.toUpperCase()}`, checksum.value) : '',
    checksum ? element('ChecksumType', checksum.type) : '',
  ].join('');
  send(ctx.res, 200, document('CompleteMultipartUploadResult', inner), {
    'content-type': 'application/xml',
    ...sseHeaders(meta),
  });
}
