export type { InvocationResult, InvokeOptions, LambdaErrorShape } from './pool.js';
export { type FunctionDefinition, FunctionNotFoundError, type RegisteredFunction } from './registry.js';
export {
  type LambdaInvoker,
  type LambdaServer,
  type LambdaServerOptions,
  startLambdaServer,
} from './server.js';
