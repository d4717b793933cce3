import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * AWS Signature Version 4 verification for header-signed requests, as the SDK sends them. The local stack
 * checks signatures so that a worker that signs with the wrong (or another job's) secret fails here as it
 * would on AWS, instead of passing locally and failing in production.
 */

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export class SigV4Error extends Error {
  constructor(
    readonly code:
      | 'MissingAuthenticationToken'
      | 'AuthorizationHeaderMalformed'
      | 'SignatureDoesNotMatch'
      | 'RequestTimeTooSkewed'
      | 'InvalidAccessKeyId',
    message: string,
  ) {
    super(message);
  }
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (!header) throw new SigV4Error('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const m = AUTH_RE.exec(header.trim());
  if (!m) throw new SigV4Error('AuthorizationHeaderMalformed', 'The authorization header is malformed');
  return {
    accessKeyId: m[1]!,
    date: m[2]!,
    region: m[3]!,
    service: m[4]!,
    signedHeaders: m[5]!.split(';'),
    signature: m[6]!,
  };
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      const k = decodeURIComponent((i < 0 ? p : p.slice(0, i)).replace(/\+/g, '%20'));
      const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, '%20'));
      return [uriEncode(k), uriEncode(v)] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return s.trim().replace(/\s+/g, ' ');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

const keyCache = new Map<string, Buffer>();

/** The derived signing key; cached, as it changes only with the day (four HMACs saved per request). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let key = keyCache.get(id);
  if (!key) {
    if (keyCache.size > 1000) keyCache.clear();
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    keyCache.set(id, key);
  }
  return key;
}

export interface VerifyInput {
  method: string;
  /** The request target as received: path (already percent-encoded by the client) and query. */
  url: string;
  headers: IncomingHttpHeaders;
  auth: ParsedAuthorization;
  secretAccessKey: string;
  /** The payload hash the client signed: the x-amz-content-sha256 header for S3, the body hash otherwise. */
  payloadHash: string;
  /** S3 signs the path as sent; other services normalise and encode it a second time. */
  doubleEncodePath: boolean;
  /** For presigned URLs: X-Amz-Date from the query (header-signed requests carry it as a header). */
  amzDate?: string;
  now?: Date;
  maxSkewMs?: number;
}

/** Throws SigV4Error unless the request carries a valid signature for the given secret. */
export function verifySignature(input: VerifyInput): void {
  const { auth, headers } = input;
  const amzDate = input.amzDate ?? headerValue(headers, 'x-amz-date');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== auth.date) {
    throw new SigV4Error('AuthorizationHeaderMalformed', 'X-Amz-Date is missing or does not match the scope');
  }
  const when = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  const now = (input.now ?? new Date()).getTime();
  if (Math.abs(now - when) > (input.maxSkewMs ?? 15 * 60_000) && input.amzDate === undefined) {
    throw new SigV4Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );
  }
  if (!auth.signedHeaders.includes('host')) {
    throw new SigV4Error('AuthorizationHeaderMalformed', 'The host header must be signed');
  }
  const expected = Buffer.from(calculateSignature({ ...input, amzDate }), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
}

/**
 * The signature of a request as SigV4 defines it (canonical request -> string to sign -> HMAC with the
 * derived key). `auth.signature` is ignored. Exported for tests that build requests by hand.
 */
export function calculateSignature(
  input: Omit<VerifyInput, 'now' | 'maxSkewMs'> & { amzDate: string },
): string {
  const { auth, headers, amzDate } = input;
  const q = input.url.indexOf('?');
  const rawPath = q < 0 ? input.url : input.url.slice(0, q);
  const rawQuery = q < 0 ? '' : input.url.slice(q + 1);
  const path = input.doubleEncodePath
    ? rawPath
        .split('/')
        .map((s) => uriEncode(decodeURIComponent(s)))
        .join('/')
    : rawPath;
  const canonicalHeaders = auth.signedHeaders.map((h) => `${h}:${headerValue(headers, h)}\n`).join('');
  const canonicalRequest = [
    input.method,
    path || '/',
    canonicalQuery(rawQuery),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  return createHmac('sha256', signingKey(input.secretAccessKey, auth.date, auth.region, auth.service))
    .update(stringToSign)
    .digest('hex');
}

export interface QueryAuthorization extends ParsedAuthorization {
  amzDate: string;
  expiresSeconds: number;
  sessionToken?: string;
}

/** The SigV4 parameters of a presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...`). */
export function parseQueryAuthorization(query: URLSearchParams): QueryAuthorization | undefined {
  if (query.get('X-Amz-Algorithm') === null) return undefined;
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(
    query.get('X-Amz-Credential') ?? '',
  );
  const signature = query.get('X-Amz-Signature') ?? '';
  const amzDate = query.get('X-Amz-Date') ?? '';
  const expires = Number(query.get('X-Amz-Expires') ?? Number.NaN);
  if (
    query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' ||
    !credential ||
    !/^[0-9a-f]{64}$/.test(signature) ||
    !/^\d{8}T\d{6}Z$/.test(amzDate) ||
    !(expires > 0 && expires <= 604_800)
  ) {
    throw new SigV4Error('AuthorizationHeaderMalformed', 'The presigned URL is malformed');
  }
  const token = query.get('X-Amz-Security-Token');
  return {
    accessKeyId: credential[1]!,
    date: credential[2]!,
    region: credential[3]!,
    service: credential[4]!,
    signedHeaders: (query.get('X-Amz-SignedHeaders') ?? 'host').split(';'),
    signature,
    amzDate,
    expiresSeconds: expires,
    ...(token ? { sessionToken: token } : {}),
  };
}

/** Milliseconds since the epoch of an X-Amz-Date value (`20260101T000000Z`). */
export function amzDateMs(amzDate: string): number {
  return Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
}

export function hashBody(body: Buffer): string {
  return sha256(body);
}
