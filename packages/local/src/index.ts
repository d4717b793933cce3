export * from './appconfig/index.js';
export type { ExternalS3Options } from './artifacts.js';
export type { JobTimeouts } from './codepipeline/context.js';
export type { Credentials } from './credentials.js';
export { type FaultRule, type FaultSpec, Faults } from './faults.js';
export * from './lambda/index.js';
export { localFolderSource } from './source-action.js';
export {
  type ClientConfig,
  DEFAULT_CREDENTIALS,
  DEFAULT_PORTS,
  type LocalStack,
  type LocalStackOptions,
  type ServiceName,
  startLocalStack,
} from './stack.js';
export { zipFolder } from './zip.js';
