import { readFile } from 'node:fs/promises';
import { configurationTable, createCustomActionTypeInput, createExtensionInput } from '@pipewright/core';
import { invokeExtension, runPluginAction } from '@pipewright/testkit';
import { describe, expect, it } from 'vitest';
import { compileSchema, globToRegExp, jsonSchema, parseDocument } from './index.js';

const schema = JSON.stringify({
  type: 'object',
  required: ['port', 'name'],
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    name: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
  },
});

const draft07 = JSON.stringify({
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { enabled: { type: 'boolean' } },
  required: ['enabled'],
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('the AppConfig extension', () => {
  for (const point of ['PRE_CREATE_HOSTED_CONFIGURATION_VERSION', 'PRE_START_DEPLOYMENT'] as const) {
    it(`passes valid JSON through unchanged at ${point}`, async () => {
      await expect(
        invokeExtension(jsonSchema, point, {
          params: { Schema: schema },
          content: '{"port":80,"name":"web"}',
        }),
      ).resolves.toBeNull();
    });

    it(`rejects invalid JSON at ${point} with every error's path and message`, async () => {
      const response = await invokeExtension(jsonSchema, point, {
        params: { Schema: schema },
        content: '{"port":"80","tags":[1],"extra":true}',
      });
      expect(response).toStrictEqual({
        Error: 'BadRequestError',
        Message: '@pipewright/plugin-json-schema: the configuration does not match the schema: 4 errors',
        Details: expect.arrayContaining([
          { Type: 'SchemaValidation', Name: '/', Reason: "must have required property 'name'" },
          { Type: 'SchemaValidation', Name: '/', Reason: 'must NOT have additional properties: extra' },
          { Type: 'SchemaValidation', Name: '/port', Reason: 'must be integer' },
          { Type: 'SchemaValidation', Name: '/tags/0', Reason: 'must be string' },
        ]),
      });
      expect((response as { Details: unknown[] }).Details).toHaveLength(4);
    });
  }

  it('validates YAML by content type or by its look', async () => {
    const yaml = 'port: 8080\nname: web\n';
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
        params: { Schema: schema },
        content: yaml,
        contentType: 'application/x-yaml',
      }),
    ).resolves.toBeNull();
    const bad = await invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
      params: { Schema: schema },
      content: 'port: high\nname: web\n',
      contentType: 'text/plain',
    });
    expect(bad).toMatchObject({ Details: [{ Name: '/port', Reason: 'must be integer' }] });
  });

  it('supports draft-07 schemas', async () => {
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
        params: { Schema: draft07 },
        content: '{"enabled":true}',
      }),
    ).resolves.toBeNull();
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
        params: { Schema: draft07 },
        content: '{"enabled":1}',
      }),
    ).resolves.toMatchObject({ Details: [{ Name: '/enabled', Reason: 'must be boolean' }] });
  });

  it('rejects with a clear message when Schema is missing, invalid, or the content cannot be parsed', async () => {
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', { content: '{}' }),
    ).resolves.toMatchObject({
      Message: expect.stringContaining('the Schema parameter is required'),
    });
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', { params: { Schema: '{nope' }, content: '{}' }),
    ).resolves.toMatchObject({ Message: expect.stringContaining('the schema is not valid JSON') });
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
        params: { Schema: JSON.stringify({ type: 'nonsense' }) },
        content: '{}',
      }),
    ).resolves.toMatchObject({ Message: expect.stringContaining('the schema is invalid') });
    await expect(
      invokeExtension(jsonSchema, 'PRE_START_DEPLOYMENT', {
        params: { Schema: schema, Format: 'json' },
        content: '{"port":',
      }),
    ).resolves.toMatchObject({ Message: expect.stringContaining('the configuration is not valid JSON') });
  });

  it('also works as an AppConfig validator (fails by throwing)', async () => {
    const event = {
      applicationId: 'a',
      configurationProfileId: 'p',
      configurationVersion: '1',
      content: b64('{"port":0}'),
      uri: 'hosted',
    };
    await expect(invokeExtension(jsonSchema, event, { params: { Schema: schema } })).rejects.toThrow(
      /must be >= 1/,
    );
  });

  it('compiles draft-04 schemas whichever draft came first', async () => {
    const declaring = (draft: string) =>
      JSON.stringify({ $schema: `http://json-schema.org/${draft}/schema#`, type: 'object' });
    await compileSchema(declaring('draft-07'));
    const validate = await compileSchema(declaring('draft-04'));
    expect(validate({})).toBe(true);
  });

  it('compiles each schema text once', async () => {
    expect(await compileSchema(schema)).toBe(await compileSchema(schema));
  });

  it('generates the AppConfig extension with seed-style action names', () => {
    const input = createExtensionInput(jsonSchema, {
      lambdaArn: 'arn:aws:lambda:us-east-1:111122223333:function:f',
    });
    expect(input.Name).toBe('pipewright-json-schema');
    expect(Object.keys(input.Actions)).toStrictEqual([
      'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
      'PRE_START_DEPLOYMENT',
    ]);
    expect(input.Parameters).toStrictEqual({
      Schema: { Required: false, Description: expect.any(String) },
      Format: { Required: false, Description: expect.any(String) },
    });
  });
});

describe('the CodePipeline Test action', () => {
  const files = {
    'schema.json': schema,
    'config/web.json': '{"port":80,"name":"web"}',
    'config/api.json': '{"port":"x","name":"api"}',
    'config/worker.yaml': 'port: 70000\nname: worker\n',
    'README.md': '# not validated',
  };

  it('succeeds when every matching file is valid', async () => {
    const run = await runPluginAction(jsonSchema, {
      config: { SchemaFile: 'schema.json', Files: 'config/web.json' },
      inputs: { Source: files },
    });
    expect(run.result).toMatchObject({ status: 'succeeded', summary: '1 file valid against schema.json' });
    await run.cleanup();
  });

  it('fails with every finding, naming the file and the instance path', async () => {
    const run = await runPluginAction(jsonSchema, {
      config: { SchemaFile: 'schema.json', Files: 'config/*.json, **/*.{yaml,yml}' },
      inputs: { Source: files },
    });
    expect(run.result).toMatchObject({ status: 'failed', failureType: 'JobFailed' });
    const message = (run.result as { message: string }).message;
    expect(message).toContain('2 of 3 files do not match the schema');
    expect(message).toContain('config/api.json /port: must be integer');
    expect(message).toContain('config/worker.yaml /port: must be <= 65535');
    await run.cleanup();
  });

  it('is a configuration error when the schema file or the files are missing', async () => {
    const noSchema = await runPluginAction(jsonSchema, {
      config: { SchemaFile: 'nope.json' },
      inputs: { Source: files },
    });
    expect(noSchema.result).toMatchObject({ status: 'failed', failureType: 'ConfigurationError' });
    const noFiles = await runPluginAction(jsonSchema, {
      config: { Schema: schema, Files: '*.toml' },
      inputs: { Source: files },
    });
    expect(noFiles.result).toMatchObject({ status: 'failed', failureType: 'ConfigurationError' });
    await noSchema.cleanup();
    await noFiles.cleanup();
  });

  it('is a Test action type with one input artifact', () => {
    expect(createCustomActionTypeInput(jsonSchema)).toMatchObject({
      category: 'Test',
      provider: 'Pipewright-JsonSchema',
      inputArtifactDetails: { minimumCount: 1, maximumCount: 1 },
    });
  });
});

describe('YAML', () => {
  it('is read as YAML 1.2 (core schema), as AppConfig configuration is written', async () => {
    await expect(
      parseDocument('on: yes\ndate: 2024-01-01\noctal: 010\nhex: 0x1F\nnothing: ~\nflag: TRUE\n', 'yaml'),
    ).resolves.toStrictEqual({
      on: 'yes',
      date: '2024-01-01',
      octal: 10,
      hex: 31,
      nothing: null,
      flag: true,
    });
    await expect(parseDocument('base: &b {x: 1}\ncopy: *b\n', 'yaml')).resolves.toStrictEqual({
      base: { x: 1 },
      copy: { x: 1 },
    });
  });

  it('reads an empty document as null and refuses duplicate keys and several documents', async () => {
    await expect(parseDocument('# nothing yet\n', 'yaml')).resolves.toBeNull();
    await expect(parseDocument('a: 1\na: 2\n', 'yaml')).rejects.toThrow(
      /the configuration is not valid YAML: duplicated mapping key/,
    );
    await expect(parseDocument('a: 1\n---\nb: 2\n', 'yaml')).rejects.toThrow(
      'the configuration is not valid YAML: it holds 2 documents (separated by ---); one is expected',
    );
  });
});

describe('globs', () => {
  it.each([
    ['**/*.json', 'a.json', true],
    ['**/*.json', 'a/b/c.json', true],
    ['config/*.json', 'config/a.json', true],
    ['config/*.json', 'config/x/a.json', false],
    ['*.{yaml,yml}', 'a.yml', true],
    ['a?.json', 'ab.json', true],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
  });
});

describe('README', () => {
  it('contains the configuration table', async () => {
    const normalise = (s: string) => s.replace(/-{3,}/g, '---').replace(/[ \t]*\|[ \t]*/g, '|');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(normalise(readme)).toContain(normalise(configurationTable(jsonSchema)));
  });
});
