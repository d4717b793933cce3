export { loadPlugins } from './load-plugins.js';
export { installSignalHandlers, type SignalOptions } from './signals.js';
export type {
  ActionTypeSelector,
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  JobInfo,
  JobReport,
  JobStatus,
  Worker,
  WorkerHooks,
  WorkerOptions,
  WorkerSummary,
} from './types.js';
export { createWorker } from './worker.js';
