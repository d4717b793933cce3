// The esbuild plugins the Lambda host and the GitHub Action are built with (scripts/esbuild-plugins.mjs), checked
// from inside a built bundle run as a real process: each trades bytes or start-up time for nothing a user sees.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../build.mjs';

const entry = fileURLToPath(new URL('./support/bundle-probe/entry.ts', import.meta.url));

describe('the bundle plugins', () => {
  let dir: string;
  let outfile: string;
  let report: Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipewright-probe-'));
    outfile = join(dir, 'probe.mjs');
    await build(bundleOptions(entry, outfile));
    const { stdout } = await promisify(execFile)(process.execPath, [outfile]);
    report = JSON.parse(stdout);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('loads a built-in on the first call of a function taken from it, not at start-up', () => {
    expect(report.cryptoAtStart).toBe(false);
    expect(report.cryptoAfterCall).toBe(true);
    expect(report.randomInt).toBe(true);
  });

  it('keeps zod parsing and leaves out its JSON Schema conversion, with an error that says so', () => {
    expect(report.parses).toBe(true);
    expect(report.toJSONSchema).toMatch(/JSON Schema conversion is not part of this bundle/);
  });

  it('carries an import()ed module as a string compiled on first import', async () => {
    expect(report.lazy).toBe(42);
    const code = await readFile(outfile, 'utf8');
    expect(code).toMatch(/new Function\("module","exports","require",/);
  });
});
