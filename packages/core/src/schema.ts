import { z } from 'zod';
import { ConfigurationError } from './errors.js';

/**
 * Metadata a configuration property may carry, set with zod's `.meta({...})` (or `.describe()` for the
 * description alone). Everything CodePipeline and AppConfig need about a property comes from here and from
 * the zod type itself.
 */
export interface PropertyMeta {
  description?: string;
  /** CodePipeline `key`. Default true. */
  key?: boolean;
  /** CodePipeline `secret`: masked in the console and in every pipewright log. Default false. */
  secret?: boolean;
  /** CodePipeline `queryable`: workers poll with this property's value. At most one; must be required. */
  queryable?: boolean;
  /** AppConfig `Dynamic`: supplied at StartDeployment instead of on the association. Never required. */
  dynamic?: boolean;
  /** Limit the property to one host. Default: both. */
  only?: 'action' | 'extension';
}

export type ConfigSchema = z.ZodObject<z.ZodRawShape>;

export type PropertyType = 'String' | 'Number' | 'Boolean';

/** One configuration property as both hosts see it. */
export interface PropertyInfo {
  name: string;
  required: boolean;
  type: PropertyType;
  description: string | undefined;
  key: boolean;
  secret: boolean;
  queryable: boolean;
  dynamic: boolean;
  only: 'action' | 'extension' | undefined;
  /** The default value, when the schema has one. */
  defaultValue: unknown;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

function metaOf(schema: z.ZodType): PropertyMeta & { description?: string } {
  const meta = (z.globalRegistry.get(schema) ?? {}) as PropertyMeta;
  const description = meta.description ?? schema.description;
  return description === undefined ? meta : { ...meta, description };
}

/** Walks optional/default/... wrappers, merging metadata (outer wins), down to the value type. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; meta: PropertyMeta; defaultValue: unknown } {
  let current = schema;
  let meta: PropertyMeta = {};
  let defaultValue: unknown;
  for (;;) {
    meta = { ...metaOf(current), ...meta };
    const def = current._zod.def as {
      type: string;
      innerType?: z.ZodType;
      defaultValue?: unknown;
      in?: z.ZodType;
    };
    if (def.type === 'default' && defaultValue === undefined) defaultValue = def.defaultValue;
    if (WRAPPERS.has(def.type) && def.innerType) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return { inner: current, meta, defaultValue };
    }
  }
}

function typeOf(inner: z.ZodType): PropertyType {
  const t = (inner._zod.def as { type: string }).type;
  if (t === 'number' || t === 'int' || t === 'bigint') return 'Number';
  if (t === 'boolean') return 'Boolean';
  return 'String';
}

/** The properties of a configuration schema, in declaration order. */
export function describeConfig(schema: ConfigSchema): PropertyInfo[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const property = field as z.ZodType;
    const { inner, meta, defaultValue } = unwrap(property);
    // A property is required when undefined does not pass: optional() and default() both accept it.
    const required = !property.safeParse(undefined).success;
    return {
      name,
      required,
      type: typeOf(inner),
      description: meta.description,
      key: meta.key ?? true,
      secret: meta.secret ?? false,
      queryable: meta.queryable ?? false,
      dynamic: meta.dynamic ?? false,
      only: meta.only,
      defaultValue,
    };
  });
}

/**
 * CodePipeline and AppConfig hand configuration over as strings. Numbers and booleans are converted by the
 * property's declared type before validation, so the schema can say `z.number()` and mean it.
 */
function coerce(value: unknown, type: PropertyType): unknown {
  if (typeof value !== 'string') return value;
  if (type === 'Number') {
    const trimmed = value.trim();
    const n = Number(trimmed);
    return trimmed !== '' && Number.isFinite(n) ? n : value;
  }
  if (type === 'Boolean') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return value;
}

/** Validates raw string configuration against a plugin's schema, reporting every problem at once. */
export function parseConfig<S extends ConfigSchema>(
  plugin: string,
  schema: S,
  raw: Readonly<Record<string, unknown>> | undefined,
  host: 'action' | 'extension' = 'action',
): z.output<S> {
  const properties = describeConfig(schema);
  const input: Record<string, unknown> = {};
  const problems: { property: string; message: string }[] = [];
  const known = new Set(properties.map((p) => p.name));
  for (const property of properties) {
    const value = raw?.[property.name];
    // An empty string is how consoles and CLIs leave an optional field blank.
    if (value === undefined || (value === '' && !property.required)) continue;
    input[property.name] = coerce(value, property.type);
  }
  // CodePipeline refuses pipelines with properties the action type lacks, so one here is a real mistake;
  // AppConfig may hand an extension parameters it does not declare (dynamic ones), which are ignored.
  for (const name of host === 'action' ? Object.keys(raw ?? {}) : []) {
    if (!known.has(name)) {
      problems.push({
        property: name,
        message: `unknown property; the action type defines ${[...known].join(', ') || 'no properties'}`,
      });
    }
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const property = issue.path.length > 0 ? issue.path.map(String).join('.') : '(configuration)';
      const message =
        issue.code === 'invalid_type' && input[String(issue.path[0])] === undefined
          ? 'is required'
          : issue.message;
      problems.push({ property, message });
    }
  }
  if (problems.length > 0) throw new ConfigurationError(plugin, problems);
  return (result as { data: z.output<S> }).data;
}

/** The values of the secret properties in a validated configuration, for masking. */
export function secretValues(schema: ConfigSchema, config: Readonly<Record<string, unknown>>): string[] {
  return describeConfig(schema)
    .filter((p) => p.secret && config[p.name] !== undefined && config[p.name] !== '')
    .map((p) => String(config[p.name]));
}
