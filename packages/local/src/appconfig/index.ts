export type { Quotas as AppConfigQuotas } from './context.js';
export type { PayloadQuirks } from './deployments.js';
export { ACTION_POINTS, type ActionPoint } from './invoke-actions.js';
export { type AppConfigServer, type AppConfigServerOptions, startAppConfigServer } from './server.js';
export { PREDEFINED_STRATEGIES } from './strategies.js';
