/**
 * Replaces secret values with `***` in every string that leaves a plugin: logs, summaries, results.
 * Secrets shorter than 4 characters are ignored: masking "1" or "true" would make output unreadable and
 * protects nothing.
 */
export class Masker {
  private secrets: string[] = [];

  add(secret: string | undefined | null): void {
    if (!secret || secret.length < 4 || this.secrets.includes(secret)) return;
    // The secret and the forms it takes when a tool prints it escaped.
    for (const variant of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      if (!this.secrets.includes(variant)) this.secrets.push(variant);
    }
    // Longest first, so a secret that contains another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  mask(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('***');
    }
    return out;
  }

  /** Masks every string inside a JSON-like value. */
  maskValue<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.maskValue(v)) as T;
    if (value && typeof value === 'object' && !(value instanceof Error)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.maskValue(v)])) as T;
    }
    if (value instanceof Error) return this.mask(value.message) as T;
    return value;
  }
}
