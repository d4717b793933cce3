#!/usr/bin/env node
// Generates the parts of README.md that come from elsewhere, between marker comments:
//   <!-- start inputs --> … <!-- end inputs -->    the inputs and outputs tables, from action.yml
//   <!-- start policy --> … <!-- end policy -->    the worker's IAM policy, from core's workerPolicy()
// `node scripts/docs.mjs` rewrites README.md; a test fails when the README and these sources drift.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerPolicy } from '@pipewright/core';
import { shellBuild, shellTest } from '@pipewright/plugin-shell';
import { parse } from 'yaml';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');

const cell = (text) =>
  String(text ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\|/g, '\\|');

export function inputsSection(actionYml) {
  const action = parse(actionYml);
  const inputs = Object.entries(action.inputs ?? {}).map(
    ([name, i]) =>
      `| \`${name}\` | ${cell(i.description)} | ${i.default === undefined || i.default === '' ? '' : `\`${cell(i.default)}\``} |`,
  );
  const outputs = Object.entries(action.outputs ?? {}).map(
    ([name, o]) => `| \`${name}\` | ${cell(o.description)} |`,
  );
  return [
    '### Inputs',
    '',
    '| Input | Description | Default |',
    '| --- | --- | --- |',
    ...inputs,
    '',
    '### Outputs',
    '',
    '| Output | Description |',
    '| --- | --- |',
    ...outputs,
  ].join('\n');
}

export function policySection() {
  const policy = workerPolicy([shellBuild, shellTest], { region: 'us-east-1', accountId: '' });
  return [
    'For the bundled shell plugin (Build and Test action types) in `us-east-1`, as',
    '`workerPolicy(plugins, { region })` from `@pipewright/core` generates it; generate yours from your plugins',
    'the same way:',
    '',
    '```json',
    JSON.stringify(policy, null, 2),
    '```',
  ].join('\n');
}

function replaceBetween(text, name, content) {
  const start = `<!-- start ${name} -->`;
  const end = `<!-- end ${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

/** The README with its generated blocks brought up to date. */
export function renderReadme(readme, actionYml) {
  return replaceBetween(
    replaceBetween(readme, 'inputs', inputsSection(actionYml)),
    'policy',
    policySection(),
  );
}

/** Table cells without padding, separator rows as `---`: how biome lays out a table does not count as drift. */
export function normalizeTables(text) {
  return text
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split('|')
            .map((c) => (/^\s*:?-+:?\s*$/.test(c) ? '---' : c.trim()))
            .join('|')
        : line,
    )
    .join('\n');
}

export function paths() {
  return { readme: join(here, 'README.md'), action: join(here, 'action.yml') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const p = paths();
  const before = readFileSync(p.readme, 'utf8');
  const after = renderReadme(before, readFileSync(p.action, 'utf8'));
  const changed = normalizeTables(after) !== normalizeTables(before);
  if (changed) {
    writeFileSync(p.readme, after);
    // Lay the tables out as the linter wants them.
    spawnSync('pnpm', ['exec', 'biome', 'format', '--write', p.readme], { cwd: here, stdio: 'ignore' });
  }
  console.log(changed ? 'README.md updated' : 'README.md is up to date');
}
