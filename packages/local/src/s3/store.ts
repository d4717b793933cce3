import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

/**
 * Object metadata and the files that hold object data. An object is a list of segments (files): a PutObject
 * writes one, a completed multipart upload keeps its part files as they are, so completing a large upload
 * costs no copy.
 */

export interface Segment {
  file: string;
  size: number;
}

export interface ObjectMeta {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  contentEncoding?: string;
  sse?: string;
  kmsKeyId?: string;
  metadata: Record<string, string>;
  /** A full-object checksum sent by the client (`crc32` -> base64), echoed on GET with checksum mode. */
  checksum?: { algorithm: string; value: string; type: 'FULL_OBJECT' | 'COMPOSITE' };
  segments: Segment[];
}

export interface PartMeta extends Segment {
  partNumber: number;
  etag: string;
  checksum?: { algorithm: string; value: string };
}

export interface UploadMeta {
  uploadId: string;
  key: string;
  initiated: number;
  contentType?: string;
  sse?: string;
  kmsKeyId?: string;
  metadata: Record<string, string>;
  parts: Record<number, PartMeta>;
}

interface Bucket {
  created: number;
  objects: Map<string, ObjectMeta>;
  uploads: Map<string, UploadMeta>;
}

export interface StoreSnapshot {
  buckets: { name: string; created: number; objects: ObjectMeta[]; uploads: UploadMeta[] }[];
}

export class ObjectStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly dataDir: string;
  onChange: () => void = () => {};

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    mkdirSync(dataDir, { recursive: true });
  }

  /** A fresh file name for incoming data; the caller writes it and then records it in an object or part. */
  newFile(): string {
    return join(this.dataDir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
  }

  discard(files: string[]): void {
    for (const f of files) void rm(f, { force: true }).catch(() => {});
  }

  bucketNames(): { name: string; created: number }[] {
    return [...this.#buckets].map(([name, b]) => ({ name, created: b.created }));
  }

  hasBucket(name: string): boolean {
    return this.#buckets.has(name);
  }

  createBucket(name: string): boolean {
    if (this.#buckets.has(name)) return false;
    this.#buckets.set(name, { created: Date.now(), objects: new Map(), uploads: new Map() });
    this.onChange();
    return true;
  }

  deleteBucket(name: string): 'ok' | 'missing' | 'notEmpty' {
    const b = this.#buckets.get(name);
    if (!b) return 'missing';
    if (b.objects.size > 0) return 'notEmpty';
    this.#buckets.delete(name);
    this.onChange();
    return 'ok';
  }

  get(bucket: string, key: string): ObjectMeta | undefined {
    return this.#buckets.get(bucket)?.objects.get(key);
  }

  put(bucket: string, meta: ObjectMeta): void {
    const b = this.#require(bucket);
    const old = b.objects.get(meta.key);
    b.objects.set(meta.key, meta);
    if (old) this.discard(old.segments.map((s) => s.file));
    this.onChange();
  }

  delete(bucket: string, key: string): void {
    const b = this.#require(bucket);
    const old = b.objects.get(key);
    if (!old) return;
    b.objects.delete(key);
    this.discard(old.segments.map((s) => s.file));
    this.onChange();
  }

  /** Keys in lexicographic (UTF-8 byte) order, as S3 lists them. */
  keys(bucket: string): string[] {
    return [...this.#require(bucket).objects.keys()].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
  }

  createUpload(bucket: string, init: Omit<UploadMeta, 'uploadId' | 'initiated' | 'parts'>): UploadMeta {
    const upload: UploadMeta = {
      ...init,
      uploadId: randomUUID().replaceAll('-', '') + randomBytes(16).toString('hex'),
      initiated: Date.now(),
      parts: {},
    };
    this.#require(bucket).uploads.set(upload.uploadId, upload);
    this.onChange();
    return upload;
  }

  upload(bucket: string, uploadId: string): UploadMeta | undefined {
    return this.#buckets.get(bucket)?.uploads.get(uploadId);
  }

  putPart(bucket: string, uploadId: string, part: PartMeta): void {
    const upload = this.upload(bucket, uploadId);
    if (!upload) {
      this.discard([part.file]);
      return;
    }
    const old = upload.parts[part.partNumber];
    upload.parts[part.partNumber] = part;
    if (old) this.discard([old.file]);
    this.onChange();
  }

  /** Ends an upload; `keep` names the part files now owned by an object, the rest are removed. */
  endUpload(bucket: string, uploadId: string, keep: Set<string> = new Set()): void {
    const upload = this.upload(bucket, uploadId);
    if (!upload) return;
    this.#require(bucket).uploads.delete(uploadId);
    this.discard(
      Object.values(upload.parts)
        .map((p) => p.file)
        .filter((f) => !keep.has(f)),
    );
    this.onChange();
  }

  /** Streams bytes [start, end] (inclusive) of an object across its segments. */
  read(meta: ObjectMeta, start = 0, end = meta.size - 1): Readable {
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const segments = meta.segments;
    void (async () => {
      let offset = 0;
      for (const seg of segments) {
        const segStart = offset;
        const segEnd = offset + seg.size - 1;
        offset += seg.size;
        if (segEnd < start || segStart > end || seg.size === 0) continue;
        const from = Math.max(start, segStart) - segStart;
        const to = Math.min(end, segEnd) - segStart;
        const input = createReadStream(seg.file, { start: from, end: to, highWaterMark: 1 << 20 });
        for await (const chunk of input) {
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
          if (out.destroyed) {
            input.destroy();
            return;
          }
        }
      }
      out.end();
    })().catch((err) => out.destroy(err));
    return out;
  }

  toJSON(): StoreSnapshot {
    return {
      buckets: [...this.#buckets].map(([name, b]) => ({
        name,
        created: b.created,
        objects: [...b.objects.values()],
        uploads: [...b.uploads.values()],
      })),
    };
  }

  load(snapshot: StoreSnapshot): void {
    for (const b of snapshot.buckets) {
      this.#buckets.set(b.name, {
        created: b.created,
        objects: new Map(b.objects.map((o) => [o.key, o])),
        uploads: new Map(b.uploads.map((u) => [u.uploadId, u])),
      });
    }
  }

  #require(bucket: string): Bucket {
    const b = this.#buckets.get(bucket);
    if (!b) throw new Error(`no bucket ${bucket}`);
    return b;
  }
}
