// The benchmarks' artifact tree, generated (not committed): `files` files totalling `bytes` in 200 folders
// of 10 subfolders; sizes vary 0.25x-1.75x around the mean and content is 90% random and 10% text, so
// deflate has real work to do and a zip of it stays near its size. Every tenth file is executable.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function generateTree(root, files, bytes) {
  const mean = bytes / files;
  const text = Buffer.from('pipewright artifact benchmark line with some repeated words\n'.repeat(4096));
  let left = bytes;
  for (let i = 0; i < files; i++) {
    const dir = join(root, `pkg-${i % 200}`, `mod-${Math.floor(i / 200) % 10}`);
    if (i < 2000) mkdirSync(dir, { recursive: true });
    const size =
      i === files - 1 ? left : Math.min(left, Math.floor(mean * (0.25 + (1.5 * ((i * 7919) % 1000)) / 1000)));
    left -= size;
    const half = Math.floor(size * 0.9);
    writeFileSync(
      join(dir, `file-${i}.dat`),
      Buffer.concat([randomBytes(half), text.subarray(0, size - half)]),
      {
        mode: i % 10 === 0 ? 0o755 : 0o644,
      },
    );
  }
}
