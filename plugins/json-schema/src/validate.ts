import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';

/** One problem with a document: where (a JSON Pointer into the document) and what. */
export interface Finding {
  /** JSON Pointer of the offending value; `` (empty) is the document itself. */
  instancePath: string;
  message: string;
}

export type Format = 'auto' | 'json' | 'yaml';

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

const DRAFT_07 = /json-schema\.org\/draft-0[4-7]\/schema/;
const CACHE_MAX = 64;
// Compiled validators by schema text: compiling is the expensive part, and the same schema arrives with every
// invocation of a warm Lambda.
const cache = new Map<string, ValidateFunction>();
let ajv2020: Ajv2020 | undefined;
let ajv07: Ajv | undefined;
// Draft-04 schemas compile with the draft-07 engine but without meta-validation: an instance of their own.
let ajv04: Ajv | undefined;

/**
 * Compiles a JSON Schema (draft 2020-12 by default, draft-07 when `$schema` says so), once per text. ajv is
 * loaded on first use, so a Lambda bundle carrying this plugin does not pay for it at start-up unless used.
 */
export async function compileSchema(text: string): Promise<ValidateFunction> {
  const cached = cache.get(text);
  if (cached) {
    // Refresh its place in the LRU order.
    cache.delete(text);
    cache.set(text, cached);
    return cached;
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new SchemaError(`the schema is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    if (typeof schema !== 'boolean') throw new SchemaError('the schema must be a JSON object (or a boolean)');
  }
  const declared =
    typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  const legacy = typeof declared === 'string' && DRAFT_07.test(declared);
  const engines = await import('./ajv.js');
  let validate: ValidateFunction;
  try {
    if (legacy && /draft-04/.test(declared)) {
      ajv04 ??= engines.createAjv07(true);
      validate = ajv04.compile(schema as object);
    } else if (legacy) {
      ajv07 ??= engines.createAjv07(false);
      validate = ajv07.compile(schema as object);
    } else {
      ajv2020 ??= engines.createAjv2020();
      validate = ajv2020.compile(schema as object);
    }
  } catch (error) {
    throw new SchemaError(`the schema is invalid: ${(error as Error).message}`);
  }
  cache.set(text, validate);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return validate;
}

/**
 * Parses a document as JSON or YAML. `auto`: JSON when it looks like JSON, YAML otherwise. The YAML parser is
 * loaded on first use, so JSON-only functions never load it.
 */
export async function parseDocument(text: string, format: Format, contentType?: string): Promise<unknown> {
  const useYaml =
    format === 'yaml' ||
    (format === 'auto' && (/yaml|yml/i.test(contentType ?? '') || !/^\s*[[{"]/.test(text)));
  if (useYaml) {
    const { yamlDocuments } = await import('./yaml.js');
    let documents: unknown[];
    try {
      documents = yamlDocuments(text);
    } catch (error) {
      throw new SchemaError(`the configuration is not valid YAML: ${(error as Error).message}`);
    }
    // An empty (or comments-only) document is null, as YAML 1.2 reads it; several documents are a mistake.
    if (documents.length > 1) {
      throw new SchemaError(
        `the configuration is not valid YAML: it holds ${documents.length} documents (separated by ---); one is expected`,
      );
    }
    return documents[0] ?? null;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SchemaError(`the configuration is not valid JSON: ${(error as Error).message}`);
  }
}

function describe(error: ErrorObject): Finding {
  let message = error.message ?? error.keyword;
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') message += `: ${String(params.additionalProperty)}`;
  if (error.keyword === 'enum') message += `: ${JSON.stringify(params.allowedValues)}`;
  return { instancePath: error.instancePath, message };
}

/** Validates a parsed document; every error, in ajv's order. */
export function validateDocument(validate: ValidateFunction, document: unknown): Finding[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map(describe);
}

/** `/port: must be integer`, or `(root): must be object` for the document itself. */
export function formatFinding(finding: Finding): string {
  return `${finding.instancePath || '(root)'}: ${finding.message}`;
}
