import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The stack's state as one JSON file, rewritten (atomically: temp file + rename) shortly after each change.
 * Writes are coalesced, so a burst of changes costs one write; stop() flushes what is pending.
 */
export class StateFile {
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly path: string | undefined,
    private readonly collect: () => object,
    private readonly delayMs = 10,
  ) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  static read<T>(path: string | undefined): T | undefined {
    if (!path || !existsSync(path)) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  }

  changed(): void {
    if (!this.path || this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => this.flush(), this.delayMs);
  }

  /** Writes what is pending and ignores later changes (work still finishing after stop must not write). */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.path) return;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.collect()));
    renameSync(tmp, this.path);
  }
}
