import type { z } from 'zod';
import type { ActionPoint, EventFor, ResultFor } from './appconfig.js';
import type { ExtensionContext, JobContext } from './context.js';
import { PluginDefinitionError } from './errors.js';
import type { ActionResult } from './results.js';
import { type ConfigSchema, describeConfig, type PropertyInfo } from './schema.js';
import { checkDefinition } from './validate-definition.js';

export const ACTION_CATEGORIES = ['Build', 'Test', 'Deploy', 'Invoke', 'Source', 'Approval'] as const;
export type ActionCategory = (typeof ACTION_CATEGORIES)[number];

export interface ActionSettings {
  entityUrlTemplate?: string;
  executionUrlTemplate?: string;
  revisionUrlTemplate?: string;
  thirdPartyConfigurationUrl?: string;
}

export interface ArtifactCounts {
  minimum: number;
  maximum: number;
}

export interface CustomActionDefinition<C> {
  category: ActionCategory;
  /** 1-35 of [0-9A-Za-z_-]; keep it within 25 for older tools. */
  provider: string;
  /** 1-9 of [0-9A-Za-z_-]. AWS action types cannot change in place: bump this to change the definition. */
  version: string;
  settings?: ActionSettings;
  inputArtifacts?: ArtifactCounts;
  outputArtifacts?: ArtifactCounts;
  tags?: Record<string, string>;
  /**
   * True when `run` can pick up from `ctx.continuation` (or its last `ctx.checkpoint`): a worker that must
   * stop hands such a job off instead of failing it.
   */
  resumable?: boolean;
  /**
   * AWS credentials the wrapped tool may see. Default none: the tool's environment holds neither the
   * worker's credentials nor the job's artifact credentials.
   */
  credentials?: 'none' | 'worker' | 'artifacts';
  run(ctx: JobContext<C>): Promise<ActionResult | void> | ActionResult | void;
}

export type ExtensionHandler<C, P extends ActionPoint> = (
  event: EventFor<P>,
  ctx: ExtensionContext<C>,
) => Promise<ResultFor<P>> | ResultFor<P>;

export type ExtensionHandlers<C> = { [P in ActionPoint]?: ExtensionHandler<C, P> };

export interface ExtensionDefinition<C> {
  /** The AppConfig extension's name: ^[^/#:\n]{1,64}$. */
  name: string;
  description?: string;
  handlers: ExtensionHandlers<C>;
  /** The action names in the generated extension, per action point. Default: `<Point>Action`. */
  actionNames?: { [P in ActionPoint]?: string };
}

export interface PluginInput<S extends ConfigSchema> {
  /** The npm package name, e.g. @pipewright/plugin-shell. */
  name: string;
  /** The package version (read it from package.json). */
  version: string;
  description: string;
  /** The one configuration schema: CodePipeline properties, AppConfig parameters and validation derive from it. */
  config: S;
  action?: CustomActionDefinition<z.output<S>>;
  extension?: ExtensionDefinition<z.output<S>>;
}

export interface Plugin<S extends ConfigSchema = ConfigSchema> extends PluginInput<S> {
  readonly kind: 'pipewright-plugin';
  /** Every property of the schema, in order. */
  readonly properties: readonly PropertyInfo[];
  /** Advice that does not stop the definition (for example a provider name past 25 characters). */
  readonly warnings: readonly string[];
}

/** Any plugin, whatever its schema; what hosts accept. */
// biome-ignore lint/suspicious/noExplicitAny: hosts handle plugins of every schema.
export type AnyPlugin = Plugin<any>;

/**
 * Defines a plugin. Checks the definition against every AWS limit that CreateCustomActionType and
 * CreateExtension enforce, and throws a PluginDefinitionError listing each problem with its field.
 */
export function definePlugin<S extends ConfigSchema>(input: PluginInput<S>): Plugin<S> {
  if (!input.action && !input.extension) {
    throw new PluginDefinitionError(input.name, ['a plugin defines an action, an extension, or both']);
  }
  const properties = describeConfig(input.config);
  const { problems, warnings } = checkDefinition(input, properties);
  if (problems.length > 0) throw new PluginDefinitionError(input.name, problems);
  return Object.freeze({ ...input, kind: 'pipewright-plugin' as const, properties, warnings });
}

export function isPlugin(value: unknown): value is AnyPlugin {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'pipewright-plugin'
  );
}

/** The properties CodePipeline sees (those not limited to the extension). */
export function actionProperties(plugin: AnyPlugin): PropertyInfo[] {
  return plugin.properties.filter((p) => p.only !== 'extension');
}

/** The parameters AppConfig sees (those not limited to the action). */
export function extensionParameters(plugin: AnyPlugin): PropertyInfo[] {
  return plugin.properties.filter((p) => p.only !== 'action');
}
