import type { LambdaInvoker } from '../lambda/server.js';
import type { DeploymentEngine, PayloadQuirks } from './deployments.js';
import type { Store } from './store.js';

export interface Quotas {
  /** Hosted configuration size (default 2 MB, AWS's default quota; AWS allows up to 4 MB on request). */
  maxConfigurationBytes: number;
  /** Extensions per account (AWS does not publish one; default 100). */
  maxExtensions: number;
  /** Extension associations per resource (AWS does not publish one; default 50). */
  maxAssociationsPerResource: number;
}

/** What every route module needs. */
export interface ServerContext {
  store: Store;
  engine: DeploymentEngine;
  lambda(): LambdaInvoker | undefined;
  quotas: Quotas;
  quirks: PayloadQuirks;
  newInvocationId(): string;
}
