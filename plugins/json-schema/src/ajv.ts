// ajv behind compileSchema, in a module of its own that validate.ts loads on first use. ajv is CommonJS: named
// imports here (static) work the same in Node and in bundles, where a dynamic `import('ajv')` of a split-out
// chunk would only have a default export.
import { Ajv, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

// `optimize: false` skips ajv's pass over the generated code: the first compile (which compiles the draft's
// meta-schema, to check the schema given) takes about 30% less time, and validating a 2 MB document is no slower.
const options: Options = { allErrors: true, strict: false, logger: false, code: { optimize: false } };

/** The draft 2020-12 engine. */
export function createAjv2020(): Ajv2020 {
  return new Ajv2020(options);
}

/** The draft-07 engine; draft-04 schemas compile with it but are not checked against a meta-schema. */
export function createAjv07(draft04: boolean): Ajv {
  return new Ajv({ ...options, validateSchema: !draft04 });
}
