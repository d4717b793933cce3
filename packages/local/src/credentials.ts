import { randomBytes } from 'node:crypto';

/** A credential pair as the SDK takes it. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a set of session credentials may touch: exact object keys in one bucket, by access kind. */
export interface CredentialScope {
  bucket: string;
  readKeys: string[];
  writeKeys: string[];
  /** The job the credentials were issued for, for error messages and revocation. */
  jobId: string;
}

export interface SessionRecord extends Required<Credentials> {
  scope: CredentialScope;
  expiresAt: number;
}

export type Principal = { kind: 'admin' } | { kind: 'session'; session: SessionRecord };

/**
 * The local STS: vends job-scoped session credentials (what CodePipeline puts in artifactCredentials) and
 * resolves an access key back to its secret and scope when S3 verifies a request.
 */
export class CredentialStore {
  readonly #sessions = new Map<string, SessionRecord>();
  onChange: () => void = () => {};

  constructor(
    readonly admin: Credentials,
    readonly ttlMs: number,
  ) {}

  issue(scope: CredentialScope, now = Date.now()): SessionRecord {
    this.#prune(now);
    const record: SessionRecord = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64url'),
      sessionToken: randomBytes(48).toString('base64'),
      scope,
      expiresAt: now + this.ttlMs,
    };
    this.#sessions.set(record.accessKeyId, record);
    this.onChange();
    return record;
  }

  lookup(accessKeyId: string): { secret: string; principal: Principal } | undefined {
    if (accessKeyId === this.admin.accessKeyId) {
      return { secret: this.admin.secretAccessKey, principal: { kind: 'admin' } };
    }
    const session = this.#sessions.get(accessKeyId);
    return session && { secret: session.secretAccessKey, principal: { kind: 'session', session } };
  }

  /** Expired sessions are kept for a while so a late request gets ExpiredToken, not InvalidAccessKeyId. */
  #prune(now: number): void {
    for (const [key, s] of this.#sessions) if (s.expiresAt + 3_600_000 < now) this.#sessions.delete(key);
  }

  toJSON(): SessionRecord[] {
    return [...this.#sessions.values()];
  }

  load(records: SessionRecord[]): void {
    for (const r of records) this.#sessions.set(r.accessKeyId, r);
  }
}
