// A light entry point for a host that sets the process's memory-related V8 settings first thing, before it
// loads the S3 client: the SDK's code grows the young generation while it loads, and once grown it stays
// grown.
//   import { limitYoungGeneration, skipTurbofan } from '@pipewright/artifacts/process-memory';
export { skipTurbofan } from './turbofan.js';
export { limitYoungGeneration } from './young-gc.js';
