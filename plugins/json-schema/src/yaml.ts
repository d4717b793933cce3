// The YAML parser behind parseDocument, in a module of its own: validate.ts loads it on first use, and a bundler
// keeps only `loadAll` of js-yaml (a dynamic `import('js-yaml')` would keep all of it, the dumper included).
import { loadAll } from 'js-yaml';

/**
 * Every document of a YAML stream, read as YAML 1.2 with its core schema (js-yaml's default): `yes`, `on` and
 * `2024-01-01` stay strings, `010` is ten; duplicate keys and unknown tags throw; `<<` is an ordinary key.
 */
export function yamlDocuments(text: string): unknown[] {
  return loadAll(text);
}
