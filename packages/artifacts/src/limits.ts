import { ArtifactError } from './errors.js';

/** Bounds on what one artifact may expand to, against zip bombs and runaway archives. */
export interface ExtractLimits {
  /** Total uncompressed bytes of all entries. Default 4 GiB. */
  maxBytes: number;
  /** Number of entries (files, folders and links). Default 100,000. */
  maxEntries: number;
  /** Uncompressed/compressed ratio, per zip entry and for the whole archive. Default 200. */
  maxRatio: number;
}

export const DEFAULT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  maxBytes: 4 * 1024 ** 3,
  maxEntries: 100_000,
  maxRatio: 200,
});

/**
 * Ratios are only judged past this many uncompressed bytes: a 10 KiB file of spaces compresses 300:1 and
 * is harmless, while a bomb has to be large to hurt. Deflate tops out near 1032:1, so a bomb of any size
 * that matters is still caught.
 */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export function resolveLimits(partial: Partial<ExtractLimits> | undefined): ExtractLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!(typeof value === 'number' && value > 0)) {
      throw new TypeError(`limits.${name} must be a positive number, got ${String(value)}`);
    }
  }
  return limits;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Counts what an extraction has produced so far and stops it at the first limit it crosses. */
export class Budget {
  entries = 0;
  bytes = 0;

  constructor(readonly limits: ExtractLimits) {}

  addEntry(name: string): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new ArtifactError(
        'LIMIT_EXCEEDED',
        `The artifact has more entries than limits.maxEntries (${this.limits.maxEntries}); stopped at ` +
          `"${name}". Raise the limit if this is expected, or ship fewer, larger files.`,
        { entry: name },
      );
    }
  }

  /** Counts bytes actually produced by inflating or reading, whatever the headers declared. */
  addBytes(n: number, name: string): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) throw this.sizeError(name);
  }

  sizeError(name: string): ArtifactError {
    return new ArtifactError(
      'LIMIT_EXCEEDED',
      `The artifact expands to more than ${mib(this.limits.maxBytes)} (stopped at "${name}"); raise ` +
        'limits.maxBytes if this is expected.',
      { entry: name },
    );
  }

  checkRatio(uncompressed: number, compressed: number, what: string, entry?: string): void {
    if (uncompressed <= RATIO_GRACE_BYTES) return;
    if (uncompressed > this.limits.maxRatio * Math.max(compressed, 1)) {
      const ratio = uncompressed / Math.max(compressed, 1);
      const where = entry !== undefined && !what.includes(entry) ? ` (at entry "${entry}")` : '';
      throw new ArtifactError(
        'LIMIT_EXCEEDED',
        `${what}${where} expands ${ratio.toFixed(0)}:1 (${mib(compressed)} to more than ${mib(uncompressed)}), beyond ` +
          `the limit of ${this.limits.maxRatio}:1; this looks like a zip bomb. Raise limits.maxRatio if the ` +
          'content really is that repetitive.',
        entry === undefined ? undefined : { entry },
      );
    }
  }
}
