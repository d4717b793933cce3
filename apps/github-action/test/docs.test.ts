import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { normalizeTables, paths, renderReadme } from '../scripts/docs.mjs';
import { INPUT_NAMES } from '../src/inputs.js';

const { readme, action } = paths();
const actionYml = readFileSync(action, 'utf8');

describe('action.yml and the README', () => {
  it('README.md is generated from action.yml and core (run `pnpm docs` after changing either)', () => {
    const current = readFileSync(readme, 'utf8');
    expect(normalizeTables(current)).toBe(normalizeTables(renderReadme(current, actionYml)));
  });

  it('action.yml declares exactly the inputs the settings parser reads, each documented', () => {
    const meta = parse(actionYml) as {
      runs: Record<string, string>;
      inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
      outputs: Record<string, { description?: string }>;
    };
    expect(Object.keys(meta.inputs)).toEqual([...INPUT_NAMES]);
    for (const [name, input] of Object.entries(meta.inputs)) {
      expect(input.description, name).toMatch(/\S{3}/);
      expect(input.required, name).toBe(false);
    }
    expect(Object.keys(meta.outputs)).toEqual(['succeeded', 'failed', 'handed-off', 'jobs']);
    expect(meta.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post.js' });
  });
});
