import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTree } from './remove-tree.js';

const made: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipewright-remove-'));
  made.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('removeTree', () => {
  it('removes nested folders, more files than one batch, read-only files and links, never what links point to', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    const root = join(tempDir(), 'job');
    for (let d = 0; d < 3; d++) {
      const dir = join(root, `d${d}`, 'deeper', 'deepest');
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 70; f++) writeFileSync(join(dir, `f${f}`), String(f));
    }
    writeFileSync(join(root, 'read-only'), 'x');
    chmodSync(join(root, 'read-only'), 0o444);
    mkdirSync(join(root, 'empty'));
    symlinkSync(outside, join(root, 'd0', 'link-to-folder'));
    symlinkSync(join(outside, 'keep.txt'), join(root, 'link-to-file'));
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));

    await removeTree(root);

    expect(existsSync(root)).toBe(false);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('does nothing for a folder that is not there', async () => {
    await expect(removeTree(join(tempDir(), 'missing'))).resolves.toBeUndefined();
  });
});
