import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError } from './errors.js';
import { describeConfig, parseConfig, secretValues } from './schema.js';

const schema = z.object({
  Command: z.string().min(1).describe('The command to run.'),
  TimeoutSeconds: z.number().int().positive().default(600),
  Verbose: z.boolean().optional(),
  Token: z.string().optional().meta({ secret: true, description: 'An API token.' }),
  Project: z.string().meta({ queryable: true, key: false }),
});

describe('describeConfig', () => {
  it('derives name, required, type, flags and description from the schema', () => {
    expect(describeConfig(schema)).toEqual([
      expect.objectContaining({
        name: 'Command',
        required: true,
        type: 'String',
        description: 'The command to run.',
        key: true,
      }),
      expect.objectContaining({ name: 'TimeoutSeconds', required: false, type: 'Number', defaultValue: 600 }),
      expect.objectContaining({ name: 'Verbose', required: false, type: 'Boolean' }),
      expect.objectContaining({ name: 'Token', required: false, secret: true, description: 'An API token.' }),
      expect.objectContaining({ name: 'Project', required: true, queryable: true, key: false }),
    ]);
  });
});

describe('parseConfig', () => {
  it('coerces CodePipeline strings to the declared types and applies defaults', () => {
    const config = parseConfig('p', schema, { Command: 'make', Verbose: 'TRUE', Project: 'web' });
    expect(config).toEqual({ Command: 'make', TimeoutSeconds: 600, Verbose: true, Project: 'web' });
    expect(
      parseConfig('p', schema, { Command: 'make', TimeoutSeconds: ' 30 ', Project: 'w' }).TimeoutSeconds,
    ).toBe(30);
  });

  it('treats an empty optional value as absent', () => {
    expect(parseConfig('p', schema, { Command: 'x', Project: 'w', Token: '' }).Token).toBeUndefined();
  });

  it('reports every problem at once, each with its property', () => {
    let error: unknown;
    try {
      parseConfig('my-plugin', schema, { TimeoutSeconds: 'soon', Verbose: 'maybe', Extra: '1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const problems = (error as ConfigurationError).problems;
    expect(problems.map((p) => p.property).sort()).toEqual([
      'Command',
      'Extra',
      'Project',
      'TimeoutSeconds',
      'Verbose',
    ]);
    expect(problems.find((p) => p.property === 'Command')?.message).toBe('is required');
    expect(problems.find((p) => p.property === 'Extra')?.message).toMatch(
      /unknown property; the action type defines Command/,
    );
    expect((error as ConfigurationError).failureType).toBe('ConfigurationError');
    expect((error as Error).message).toMatch(/^invalid configuration: /);
  });

  it('ignores undeclared parameters for extensions', () => {
    expect(
      parseConfig('p', z.object({ A: z.string().optional() }), { A: 'a', Other: 'x' }, 'extension'),
    ).toEqual({ A: 'a' });
  });

  it('lists secret values for masking', () => {
    const config = parseConfig('p', schema, { Command: 'x', Project: 'w', Token: 's3cr3t' });
    expect(secretValues(schema, config)).toEqual(['s3cr3t']);
  });
});
