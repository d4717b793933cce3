import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExtensionInput } from '@pipewright/core';
import { jsonSchema } from '@pipewright/plugin-json-schema';
import { s3Backup } from '@pipewright/plugin-s3-backup';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleOptions } from '../build.mjs';
import { cloudFormationTemplate } from './template.js';

type Template = {
  Parameters?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, unknown>;
};

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

/** Every Ref, Fn::GetAtt and Fn::Sub variable in a value. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref') out.push(v as string);
      else if (k === 'Fn::GetAtt') out.push((v as string[])[0]!);
      else if (k === 'Fn::Sub') {
        const [text, vars] = Array.isArray(v) ? (v as [string, Record<string, unknown>]) : [v as string, {}];
        for (const m of text.matchAll(/\$\{([^}!.]+)[^}]*\}/g)) if (!(m[1]! in vars)) out.push(m[1]!);
        references(vars, out);
      } else references(v, out);
    }
  }
  return out;
}

describe('cloudFormationTemplate', () => {
  const template = cloudFormationTemplate({
    associateWith: 'arn:aws:appconfig:us-east-1:111122223333:application/abcd123',
  }) as Template;
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  it('has one nodejs24.x function and one extension per plugin', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id)).toStrictEqual(['JsonSchemaFunction', 'S3BackupFunction']);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Code: { S3Bucket: { Ref: 'CodeS3Bucket' }, S3Key: { Ref: 'CodeS3Key' } },
        Role: { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] },
      });
    }
    expect(JSON.stringify(template)).not.toContain('nodejs20.x');
    expect(resources.S3BackupFunction!.Properties.Environment).toStrictEqual({
      Variables: {
        PIPEWRIGHT_PLUGINS: 's3-backup',
        POWERTOOLS_SERVICE_NAME: 'pipewright-s3-backup',
        PIPEWRIGHT_PARAM_S3_BUCKET: { Ref: 'BackupBucketName' },
      },
    });
  });

  it('generates the extensions from the plugin definitions', () => {
    for (const [plugin, id] of [
      [jsonSchema, 'JsonSchema'],
      [s3Backup, 'S3Backup'],
    ] as const) {
      const expected = createExtensionInput(plugin, { lambdaArn: 'x' });
      const ext = resources[`${id}Extension`]!;
      expect(ext.Type).toBe('AWS::AppConfig::Extension');
      expect(ext.Properties.Name).toBe(expected.Name);
      expect(ext.Properties.Parameters).toStrictEqual(expected.Parameters);
      const actions = ext.Properties.Actions as Record<
        string,
        { Name: string; Uri: unknown; RoleArn: unknown }[]
      >;
      expect(Object.keys(actions)).toStrictEqual(Object.keys(expected.Actions));
      for (const [point, [action]] of Object.entries(actions)) {
        expect(action).toStrictEqual({
          Name: expected.Actions[point as keyof typeof expected.Actions]![0]!.Name,
          Uri: { 'Fn::GetAtt': [`${id}Function`, 'Arn'] },
          RoleArn: { 'Fn::GetAtt': ['AppConfigInvokeRole', 'Arn'] },
        });
      }
      expect(resources[`${id}Association`]!.Properties).toMatchObject({
        ExtensionIdentifier: { 'Fn::GetAtt': [`${id}Extension`, 'Id'] },
        ResourceIdentifier: 'arn:aws:appconfig:us-east-1:111122223333:application/abcd123',
      });
    }
  });

  it('lets only AppConfig of this account invoke the functions', () => {
    const role = resources.AppConfigInvokeRole!.Properties;
    expect(role.AssumeRolePolicyDocument).toStrictEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'appconfig.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    const statement = (role.Policies as { PolicyDocument: { Statement: Record<string, unknown>[] } }[])[0]!
      .PolicyDocument.Statement[0]!;
    expect(statement.Action).toStrictEqual(['lambda:InvokeFunction', 'lambda:InvokeAsync']);
    expect(statement.Resource).toStrictEqual([
      { 'Fn::GetAtt': ['JsonSchemaFunction', 'Arn'] },
      { 'Fn::GetAtt': ['S3BackupFunction', 'Arn'] },
    ]);
  });

  it('grants s3:PutObject on the backup bucket only when s3-backup is deployed', () => {
    expect(JSON.stringify(resources.ExecutionRole)).toContain('s3:PutObject');
    const without = cloudFormationTemplate({
      plugins: [jsonSchema],
      codeS3Bucket: 'b',
      codeS3Key: 'k',
    }) as Template;
    expect(JSON.stringify(without)).not.toContain('s3:PutObject');
    expect(without.Parameters).toBeUndefined();
    expect(Object.keys(without.Resources)).toStrictEqual([
      'ExecutionRole',
      'JsonSchemaFunction',
      'JsonSchemaExtension',
      'AppConfigInvokeRole',
    ]);
  });

  it('references only resources, parameters and pseudo parameters that exist', () => {
    for (const t of [
      template,
      cloudFormationTemplate({
        plugins: [s3Backup],
        backupBucket: 'b',
        codeS3Bucket: 'c',
        codeS3Key: 'k',
      }) as Template,
    ]) {
      const known = new Set([...Object.keys(t.Resources), ...Object.keys(t.Parameters ?? {}), ...PSEUDO]);
      const refs = references({ Resources: t.Resources, Outputs: t.Outputs });
      expect(refs.length).toBeGreaterThan(0);
      expect(refs.filter((r) => !known.has(r))).toStrictEqual([]);
      for (const name of Object.keys(t.Parameters ?? {})) expect(refs).toContain(name);
    }
  });

  it('refuses an unsupported runtime', () => {
    expect(() => cloudFormationTemplate({ runtime: 'nodejs20.x' as 'nodejs22.x' })).toThrow(
      /nodejs24.x or nodejs22.x/,
    );
  });

  it('passes cfn-lint (when cfn-lint is on PATH)', async (ctx) => {
    const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) ctx.skip();
    const dir = await mkdtemp(join(tmpdir(), 'pipewright-cfn-'));
    try {
      const variants = {
        'default.json': template,
        'pinned.json': cloudFormationTemplate({
          plugins: [s3Backup],
          codeS3Bucket: 'code-bucket',
          codeS3Key: 'lambda.zip',
          backupBucket: 'backups',
          runtime: 'nodejs22.x',
          associationParameters: { 's3-backup': { S3_PREFIX: 'x/' } },
          associateWith: 'arn:aws:appconfig:us-east-1:111122223333:application/abcd123',
        }),
      };
      for (const [name, t] of Object.entries(variants)) {
        await writeFile(join(dir, name), JSON.stringify(t, null, 2));
      }
      const lint = spawnSync(
        'cfn-lint',
        ['--regions', 'us-east-1', '--', ...Object.keys(variants).map((n) => join(dir, n))],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      expect(`${lint.stdout}${lint.stderr}`).toBe('');
      expect(lint.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('is printed by `node dist/deploy.mjs template`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipewright-deploy-'));
    try {
      const out = join(dir, 'deploy.mjs');
      await build(bundleOptions(new URL('./deploy.ts', import.meta.url).pathname, out));
      const run = spawnSync(
        process.execPath,
        [
          out,
          'template',
          '--plugins',
          'json-schema',
          '--code-bucket',
          'artifacts',
          '--code-key',
          'lambda.zip',
          '--associate-with',
          'arn:aws:appconfig:us-east-1:111122223333:application/abcd123',
          '--param',
          'json-schema.Schema={"type":"object"}',
        ],
        { encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      const printed = JSON.parse(run.stdout) as Template;
      expect(printed.Resources.JsonSchemaAssociation!.Properties.Parameters).toStrictEqual({
        Schema: '{"type":"object"}',
      });
      expect(printed.Resources.JsonSchemaFunction!.Properties.Code).toStrictEqual({
        S3Bucket: 'artifacts',
        S3Key: 'lambda.zip',
      });
      const bad = spawnSync(process.execPath, [out, 'template', '--plugins', 'nope'], { encoding: 'utf8' });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('--plugins names "nope", which this bundle does not carry');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
