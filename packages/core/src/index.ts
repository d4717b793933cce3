export { z } from 'zod';
export {
  ACTION_POINTS,
  type ActionPoint,
  type AppConfigEvent,
  type AppConfigResponse,
  type Content,
  type DeploymentNotificationEvent,
  type DeploymentTickEvent,
  EVENT_TYPES,
  type EventFor,
  type OnActionPoint,
  type OnResult,
  type PreActionPoint,
  type PreCreateHostedConfigurationVersionEvent,
  type PreEvent,
  type PreResult,
  type PreStartDeploymentEvent,
  type Rejection,
  type RejectionDetail,
  type ResourceRef,
  type ResultFor,
  reject,
  type TickResult,
} from './appconfig.js';
export { actionPointOf, EventParseError, parseAppConfigEvent } from './appconfig-parse.js';
export type {
  AwsCredentials,
  Exec,
  ExecOptions,
  ExecResult,
  ExtensionContext,
  JobContext,
  Logger,
  PipelineContext,
} from './context.js';
export {
  ConfigurationError,
  FAILURE_TYPES,
  type FailureType,
  PluginDefinitionError,
  PluginError,
  type PluginErrorOptions,
} from './errors.js';
export {
  actionTypeId,
  type CreateCustomActionTypeInput,
  type CreateExtensionInput,
  createCustomActionTypeInput,
  createExtensionInput,
  defaultActionName,
  WORKER_ACTIONS,
  workerPolicy,
} from './generate.js';
export type { JsonPrimitive, JsonValue } from './json.js';
export { APPCONFIG, CODEPIPELINE } from './limits.js';
export {
  ACTION_CATEGORIES,
  type ActionCategory,
  type ActionSettings,
  type AnyPlugin,
  type ArtifactCounts,
  actionProperties,
  type CustomActionDefinition,
  definePlugin,
  type ExtensionDefinition,
  type ExtensionHandler,
  type ExtensionHandlers,
  extensionParameters,
  isPlugin,
  type Plugin,
  type PluginInput,
} from './plugin.js';
export { configurationTable } from './readme.js';
export {
  type ActionResult,
  type Failed,
  failed,
  type InProgress,
  inProgress,
  type Revision,
  type Succeeded,
  succeeded,
} from './results.js';
export {
  type ConfigSchema,
  describeConfig,
  type PropertyInfo,
  type PropertyMeta,
  type PropertyType,
  parseConfig,
  secretValues,
} from './schema.js';
