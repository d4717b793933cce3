import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import {
  type ActionResult,
  definePlugin,
  type ExtensionContext,
  failed,
  type JobContext,
  type Plugin,
  type PreEvent,
  type PreResult,
  reject,
  succeeded,
  z,
} from '@pipewright/core';
import {
  compileSchema,
  type Finding,
  type Format,
  formatFinding,
  parseDocument,
  SchemaError,
  validateDocument,
} from './validate.js';

export {
  compileSchema,
  type Finding,
  type Format,
  formatFinding,
  parseDocument,
  SchemaError,
  validateDocument,
} from './validate.js';

export const PACKAGE_NAME = '@pipewright/plugin-json-schema';
const VERSION = '0.1.0';
/** How many findings the AppConfig Details and the CodePipeline message list before "and N more". */
const MAX_FINDINGS = 50;

const relativePath = (what: string) =>
  z
    .string()
    .min(1)
    .max(1000)
    .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), {
      message: `${what} must be a relative path that stays inside the artifact (no leading / and no ..)`,
    });

export const jsonSchemaConfig = z.object({
  Schema: z.string().min(1).max(2048).optional().meta({
    description:
      'The JSON Schema as inline JSON (draft 2020-12 by default; draft-07 when $schema says so). Required for the extension; the action may use SchemaFile instead.',
  }),
  SchemaFile: relativePath('SchemaFile').optional().meta({
    description: 'Path of the JSON Schema file in the input artifact (action only).',
    only: 'action',
  }),
  Files: z.string().min(1).max(1000).default('**/*.json').meta({
    description:
      'Files to validate in the input artifact: globs or paths, separated by commas or new lines (action only).',
    only: 'action',
  }),
  Format: z.enum(['auto', 'json', 'yaml']).default('auto').meta({
    description: 'How to parse the configuration: json, yaml, or auto (by content type or extension).',
  }),
});

export type JsonSchemaConfig = z.output<typeof jsonSchemaConfig>;

function tooMany(total: number): string {
  return total > MAX_FINDINGS ? ` (showing ${MAX_FINDINGS} of ${total})` : '';
}

/** The PRE_* handler: parse the configuration, validate it, reject with every finding. */
async function validateContent(event: PreEvent, ctx: ExtensionContext<JsonSchemaConfig>): Promise<PreResult> {
  const { Schema, Format: format } = ctx.params;
  if (!Schema) {
    return reject('the Schema parameter is required: set it on the extension association', [
      { type: 'MissingParameter', name: 'Schema', reason: 'no JSON Schema to validate against' },
    ]);
  }
  let findings: Finding[];
  try {
    const validate = await compileSchema(Schema);
    const document = await parseDocument(event.content.text(), format, event.content.contentType);
    findings = validateDocument(validate, document);
  } catch (error) {
    if (error instanceof SchemaError) {
      return reject(error.message, [{ type: 'SchemaValidation', name: 'Content', reason: error.message }]);
    }
    throw error;
  }
  if (findings.length === 0) {
    ctx.logger.info('configuration is valid against the schema', { bytes: event.content.bytes.byteLength });
    return undefined;
  }
  ctx.logger.info('configuration is invalid against the schema', { errors: findings.length });
  return reject(
    `the configuration does not match the schema: ${findings.length} error${findings.length === 1 ? '' : 's'}${tooMany(findings.length)}`,
    findings.slice(0, MAX_FINDINGS).map((f) => ({
      type: 'SchemaValidation',
      name: f.instancePath || '/',
      reason: f.message,
    })),
  );
}

/** `**`, `*`, `?` and `{a,b}` globs, matched against `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((alt) => alt.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Splits `a/*.json, b/*.{yaml,yml}` on commas and new lines outside braces. */
export function splitPatterns(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '{') depth++;
    if (c === '}') depth = Math.max(0, depth - 1);
    if ((c === ',' && depth === 0) || c === '\n') {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out.map((p) => p.trim().replace(/^\.\//, '')).filter(Boolean);
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function runValidation(ctx: JobContext<JsonSchemaConfig>): Promise<ActionResult> {
  const { config } = ctx;
  const root = ctx.input;
  if (!root) return failed('the action needs an input artifact', { failureType: 'ConfigurationError' });
  let schemaText = config.Schema;
  if (config.SchemaFile) {
    try {
      schemaText = await readFile(join(root, config.SchemaFile), 'utf8');
    } catch {
      return failed(`SchemaFile ${config.SchemaFile} does not exist in the input artifact`, {
        failureType: 'ConfigurationError',
      });
    }
  }
  if (!schemaText) {
    return failed('set SchemaFile (a path in the input artifact) or Schema (inline JSON)', {
      failureType: 'ConfigurationError',
    });
  }
  let validate: Awaited<ReturnType<typeof compileSchema>>;
  try {
    validate = await compileSchema(schemaText);
  } catch (error) {
    return failed(`${config.SchemaFile ?? 'Schema'}: ${(error as Error).message}`, {
      failureType: 'ConfigurationError',
    });
  }
  const patterns = splitPatterns(config.Files);
  const matchers = patterns.map(globToRegExp);
  const schemaPath = config.SchemaFile ? normalize(config.SchemaFile).split(sep).join('/') : undefined;
  const files = (await listFiles(root)).filter((f) => f !== schemaPath && matchers.some((m) => m.test(f)));
  if (files.length === 0) {
    return failed(`no file in the input artifact matches Files (${patterns.join(', ')})`, {
      failureType: 'ConfigurationError',
    });
  }
  const problems: string[] = [];
  let invalidFiles = 0;
  for (const file of files) {
    if (ctx.signal.aborted) return failed('stopped before every file was validated');
    const text = await readFile(join(root, file), 'utf8');
    const format: Format =
      config.Format !== 'auto' ? config.Format : /\.ya?ml$/i.test(file) ? 'yaml' : 'auto';
    let findings: string[];
    try {
      findings = validateDocument(validate, await parseDocument(text, format)).map(formatFinding);
    } catch (error) {
      findings = [(error as Error).message];
    }
    if (findings.length > 0) invalidFiles++;
    for (const finding of findings) {
      problems.push(`${file} ${finding}`);
      ctx.logger.error(`${file} ${finding}`);
    }
    if (findings.length === 0) ctx.logger.info(`${file} is valid`);
  }
  if (problems.length > 0) {
    return failed(
      `${invalidFiles} of ${files.length} file${files.length === 1 ? '' : 's'} do not match the schema${tooMany(problems.length)}:\n${problems.slice(0, MAX_FINDINGS).join('\n')}`,
      { details: problems.slice(0, MAX_FINDINGS) },
    );
  }
  return succeeded({
    summary: `${files.length} file${files.length === 1 ? '' : 's'} valid against ${config.SchemaFile ?? 'the schema'}`,
    outputVariables: { FilesValidated: String(files.length) },
  });
}

export interface JsonSchemaPluginOptions {
  /** The CodePipeline provider. Default Pipewright-JsonSchema. */
  provider?: string;
  /** The action type version. Default 1. */
  version?: string;
  /** The AppConfig extension name. Default pipewright-json-schema. */
  extensionName?: string;
}

/**
 * JSON Schema validation in both hosts: an AppConfig extension that refuses invalid configuration at
 * PRE_CREATE_HOSTED_CONFIGURATION_VERSION and PRE_START_DEPLOYMENT, and a CodePipeline Test action that
 * validates files of the input artifact.
 */
export function jsonSchemaPlugin(options: JsonSchemaPluginOptions = {}): Plugin<typeof jsonSchemaConfig> {
  return definePlugin({
    name: PACKAGE_NAME,
    version: VERSION,
    description: 'Validates JSON and YAML configuration against a JSON Schema.',
    config: jsonSchemaConfig,
    action: {
      category: 'Test',
      provider: options.provider ?? 'Pipewright-JsonSchema',
      version: options.version ?? '1',
      inputArtifacts: { minimum: 1, maximum: 1 },
      outputArtifacts: { minimum: 0, maximum: 0 },
      run: runValidation,
    },
    extension: {
      name: options.extensionName ?? 'pipewright-json-schema',
      description: 'Refuses configuration that does not match a JSON Schema (pipewright).',
      handlers: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: validateContent,
        PRE_START_DEPLOYMENT: validateContent,
      },
      actionNames: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigVersionActionForJsonSchema',
        PRE_START_DEPLOYMENT: 'PreStartDeploymentActionForJsonSchema',
      },
    },
  });
}

/** The plugin with its default names. */
export const jsonSchema = jsonSchemaPlugin();

export default jsonSchema;
