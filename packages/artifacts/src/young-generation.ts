// A light entry point for a host that limits V8's young generation first thing, before it loads the S3
// client: the SDK's code grows the young generation while it loads, and once grown it stays grown.
//   import { limitYoungGeneration } from '@pipewright/artifacts/young-generation';
export { limitYoungGeneration } from './young-gc.js';
