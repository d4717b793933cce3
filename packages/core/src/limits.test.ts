import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PluginDefinitionError } from './errors.js';
import { type CustomActionDefinition, definePlugin } from './plugin.js';

const base = { name: 'p', version: '1.0.0', description: 'd' };
const action = (over: Partial<CustomActionDefinition<unknown>> = {}) => ({
  category: 'Build' as const,
  provider: 'Prov',
  version: '1',
  run: () => {},
  ...over,
});

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PluginDefinitionError);
    return [...(error as PluginDefinitionError).problems];
  }
  throw new Error('expected the definition to be rejected');
}

describe('definition-time AWS limits', () => {
  it.each([
    ['provider too long', { provider: 'x'.repeat(36) }, /action\.provider/],
    ['provider bad characters', { provider: 'my provider' }, /action\.provider/],
    ['provider empty', { provider: '' }, /action\.provider/],
    ['version too long', { version: '1234567890' }, /action\.version/],
    ['version bad characters', { version: '1.0' }, /action\.version/],
    ['category unknown', { category: 'Compute' as never }, /action\.category/],
    [
      'input artifacts > 5',
      { inputArtifacts: { minimum: 0, maximum: 6 } },
      /action\.inputArtifacts\.maximum/,
    ],
    [
      'output artifacts < 0',
      { outputArtifacts: { minimum: -1, maximum: 1 } },
      /action\.outputArtifacts\.minimum/,
    ],
    ['min > max', { inputArtifacts: { minimum: 2, maximum: 1 } }, /action\.inputArtifacts: minimum 2/],
    [
      'url template too long',
      { settings: { entityUrlTemplate: `https://x/${'a'.repeat(2048)}` } },
      /settings\.entityUrlTemplate: 2058/,
    ],
    [
      'url template unknown config',
      { settings: { executionUrlTemplate: 'https://x/{Config:Nope}' } },
      /\{Config:Nope\} names no/,
    ],
    ['tag key too long', { tags: { ['k'.repeat(129)]: 'v' } }, /action\.tags/],
  ])('rejects %s', (_label, over, pattern) => {
    const problems = problemsOf(() => definePlugin({ ...base, config: z.object({}), action: action(over) }));
    expect(problems.join('\n')).toMatch(pattern);
  });

  it('warns, but accepts, a provider between 26 and 35 characters', () => {
    const plugin = definePlugin({
      ...base,
      config: z.object({}),
      action: action({ provider: 'p'.repeat(30) }),
    });
    expect(plugin.warnings.join()).toMatch(/30 characters/);
  });

  it('rejects more than 10 properties', () => {
    const shape = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`P${i}`, z.string()]));
    expect(
      problemsOf(() => definePlugin({ ...base, config: z.object(shape), action: action() })).join(),
    ).toMatch(/11 properties; a custom action type has at most 10/);
  });

  it('rejects names over 50 and descriptions over 160 characters, naming the property', () => {
    const long = 'N'.repeat(51);
    const problems = problemsOf(() =>
      definePlugin({
        ...base,
        config: z.object({ [long]: z.string(), Short: z.string().describe('d'.repeat(161)) }),
        action: action(),
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`config\\.${long}: property names are 1-50`)),
        expect.stringMatching(/config\.Short: description is 161 characters/),
      ]),
    );
  });

  it('rejects two queryable properties, an optional one and a secret one', () => {
    const problems = problemsOf(() =>
      definePlugin({
        ...base,
        config: z.object({
          A: z.string().optional().meta({ queryable: true }),
          B: z.string().meta({ queryable: true, secret: true }),
        }),
        action: action(),
      }),
    );
    expect(problems.join('\n')).toMatch(/A, B are queryable/);
    expect(problems.join('\n')).toMatch(/config\.A: a queryable property must be required/);
    expect(problems.join('\n')).toMatch(/config\.B: a queryable property cannot be secret/);
  });

  it('rejects {Config:X} references to optional or secret properties', () => {
    const problems = problemsOf(() =>
      definePlugin({
        ...base,
        config: z.object({ Opt: z.string().optional(), Sec: z.string().meta({ secret: true }) }),
        action: action({ settings: { entityUrlTemplate: 'https://x/{Config:Opt}/{Config:Sec}' } }),
      }),
    );
    expect(problems.join('\n')).toMatch(
      /\{Config:Opt\} must name a required, non-secret property \(Opt is optional\)/,
    );
    expect(problems.join('\n')).toMatch(
      /\{Config:Sec\} must name a required, non-secret property \(Sec is secret\)/,
    );
  });

  it('checks extension names, parameter counts and dynamic parameters', () => {
    const shape = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`P${i}`, z.string().optional()]));
    const problems = problemsOf(() =>
      definePlugin({
        ...base,
        config: z.object({
          ...shape,
          'Bad/Name': z.string().optional(),
          Dyn: z.string().meta({ dynamic: true }),
        }),
        extension: { name: 'has:colon', handlers: { ON_DEPLOYMENT_START: () => {} } },
      }),
    );
    const text = problems.join('\n');
    expect(text).toMatch(/extension\.name: "has:colon"/);
    expect(text).toMatch(/13 extension parameters; at most 10/);
    expect(text).toMatch(/config\.Bad\/Name: parameter names/);
    expect(text).toMatch(/config\.Dyn: a dynamic parameter cannot be required/);
  });

  it('rejects an extension without handlers or with an unknown action point', () => {
    expect(
      problemsOf(() =>
        definePlugin({ ...base, config: z.object({}), extension: { name: 'E', handlers: {} } }),
      ).join(),
    ).toMatch(/at least one action point/);
    expect(
      problemsOf(() =>
        definePlugin({
          ...base,
          config: z.object({}),
          extension: { name: 'E', handlers: { ON_SOMETHING: () => {} } as never },
        }),
      ).join(),
    ).toMatch(/extension\.handlers\.ON_SOMETHING: not an action point/);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() =>
      definePlugin({ ...base, config: z.object({}), action: action({ provider: '', version: '' }) }),
    );
    expect(problems).toHaveLength(2);
  });

  it('rejects a plugin that defines neither an action nor an extension', () => {
    expect(problemsOf(() => definePlugin({ ...base, config: z.object({}) })).join()).toMatch(
      /an action, an extension/,
    );
  });
});
