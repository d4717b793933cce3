export { CREDENTIAL_VARIABLES, toolEnvironment } from './env.js';
export { createExec, type ExecFactoryOptions } from './exec.js';
export {
  createLogger,
  createMemoryLogger,
  jsonLinesSink,
  type LoggerOptions,
  type LogLevel,
  type LogRecord,
  type LogSink,
} from './logger.js';
export { Masker } from './masker.js';
export { describeError, fitResult, type RunActionOptions, runAction } from './run-action.js';
export { truncateEnd, truncateStart } from './truncate.js';
