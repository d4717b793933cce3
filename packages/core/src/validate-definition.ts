import { ACTION_POINTS } from './appconfig.js';
import { APPCONFIG, CODEPIPELINE } from './limits.js';
import type { PluginInput } from './plugin.js';
import type { ConfigSchema, PropertyInfo } from './schema.js';

const CATEGORIES = new Set(['Build', 'Test', 'Deploy', 'Invoke', 'Source', 'Approval']);
const CONFIG_REF = /\{Config:([^}]*)\}/g;

/** Every AWS limit a definition can break, checked up front so AWS never has to reject it. */
export function checkDefinition(
  input: PluginInput<ConfigSchema>,
  properties: readonly PropertyInfo[],
): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!input.name) problems.push('name: is required (the npm package name)');
  if (!input.version) problems.push('version: is required (read it from package.json)');

  const action = input.action;
  if (action) {
    const actionProps = properties.filter((p) => p.only !== 'extension');
    if (!CATEGORIES.has(action.category)) {
      problems.push(
        `action.category: ${JSON.stringify(action.category)} is not one of ${[...CATEGORIES].join(', ')}`,
      );
    }
    const { provider, version } = action;
    if (
      !provider ||
      provider.length > CODEPIPELINE.providerMax ||
      !CODEPIPELINE.providerPattern.test(provider)
    ) {
      problems.push(
        `action.provider: ${JSON.stringify(provider)} must be 1-${CODEPIPELINE.providerMax} characters of [0-9A-Za-z_-]`,
      );
    } else if (provider.length > CODEPIPELINE.providerRecommendedMax) {
      warnings.push(
        `action.provider: ${JSON.stringify(provider)} is ${provider.length} characters; the CodePipeline User Guide and some tools still allow only ${CODEPIPELINE.providerRecommendedMax}`,
      );
    }
    if (!version || version.length > CODEPIPELINE.versionMax || !CODEPIPELINE.versionPattern.test(version)) {
      problems.push(
        `action.version: ${JSON.stringify(version)} must be 1-${CODEPIPELINE.versionMax} characters of [0-9A-Za-z_-]`,
      );
    }
    if (actionProps.length > CODEPIPELINE.propertiesMax) {
      problems.push(
        `config: ${actionProps.length} properties; a custom action type has at most ${CODEPIPELINE.propertiesMax}`,
      );
    }
    for (const p of actionProps) {
      if (p.name.length < 1 || p.name.length > CODEPIPELINE.propertyNameMax) {
        problems.push(`config.${p.name}: property names are 1-${CODEPIPELINE.propertyNameMax} characters`);
      }
      if (
        p.description !== undefined &&
        (p.description.length < 1 || p.description.length > CODEPIPELINE.propertyDescriptionMax)
      ) {
        problems.push(
          `config.${p.name}: description is ${p.description.length} characters; CodePipeline allows 1-${CODEPIPELINE.propertyDescriptionMax}`,
        );
      }
    }
    const queryable = actionProps.filter((p) => p.queryable);
    if (queryable.length > 1) {
      problems.push(
        `config: ${queryable.map((p) => p.name).join(', ')} are queryable; at most one property may be`,
      );
    }
    for (const p of queryable) {
      if (!p.required) problems.push(`config.${p.name}: a queryable property must be required`);
      if (p.secret) problems.push(`config.${p.name}: a queryable property cannot be secret`);
    }
    for (const [field, counts] of [
      ['inputArtifacts', action.inputArtifacts],
      ['outputArtifacts', action.outputArtifacts],
    ] as const) {
      if (!counts) continue;
      for (const bound of ['minimum', 'maximum'] as const) {
        const n = counts[bound];
        if (!Number.isInteger(n) || n < 0 || n > CODEPIPELINE.artifactCountMax) {
          problems.push(
            `action.${field}.${bound}: ${n} is not an integer from 0 to ${CODEPIPELINE.artifactCountMax}`,
          );
        }
      }
      if (counts.minimum > counts.maximum) {
        problems.push(`action.${field}: minimum ${counts.minimum} is more than maximum ${counts.maximum}`);
      }
    }
    for (const [field, template] of Object.entries(action.settings ?? {})) {
      if (template === undefined) continue;
      if (template.length < 1 || template.length > CODEPIPELINE.urlTemplateMax) {
        problems.push(
          `action.settings.${field}: ${template.length} characters; at most ${CODEPIPELINE.urlTemplateMax}`,
        );
      }
      for (const [, name] of template.matchAll(CONFIG_REF)) {
        const p = actionProps.find((q) => q.name === name);
        if (!p) problems.push(`action.settings.${field}: {Config:${name}} names no configuration property`);
        else if (!p.required || p.secret) {
          problems.push(
            `action.settings.${field}: {Config:${name}} must name a required, non-secret property (${name} is ${p.required ? '' : 'optional'}${!p.required && p.secret ? ' and ' : ''}${p.secret ? 'secret' : ''})`,
          );
        }
      }
    }
    const tags = Object.entries(action.tags ?? {});
    if (tags.length > CODEPIPELINE.tagsMax)
      problems.push(`action.tags: ${tags.length} tags; at most ${CODEPIPELINE.tagsMax}`);
    for (const [key, value] of tags) {
      if (key.length < 1 || key.length > CODEPIPELINE.tagKeyMax)
        problems.push(`action.tags.${key}: keys are 1-${CODEPIPELINE.tagKeyMax} characters`);
      if (value.length > CODEPIPELINE.tagValueMax)
        problems.push(`action.tags.${key}: values are at most ${CODEPIPELINE.tagValueMax} characters`);
    }
    if (typeof action.run !== 'function') problems.push('action.run: must be a function');
  }

  const extension = input.extension;
  if (extension) {
    const params = properties.filter((p) => p.only !== 'action');
    if (!APPCONFIG.namePattern.test(extension.name ?? '')) {
      problems.push(`extension.name: ${JSON.stringify(extension.name)} must match ^[^/#:\\n]{1,64}$`);
    }
    if ((extension.description?.length ?? 0) > APPCONFIG.descriptionMax) {
      problems.push(`extension.description: at most ${APPCONFIG.descriptionMax} characters`);
    }
    const points = Object.keys(extension.handlers ?? {});
    if (points.length === 0)
      problems.push('extension.handlers: define a handler for at least one action point');
    if (points.length > APPCONFIG.actionPointsMax) {
      problems.push(
        `extension.handlers: ${points.length} action points; an extension has at most ${APPCONFIG.actionPointsMax}`,
      );
    }
    for (const point of points) {
      if (!(ACTION_POINTS as readonly string[]).includes(point)) {
        problems.push(
          `extension.handlers.${point}: not an action point; use one of ${ACTION_POINTS.join(', ')}`,
        );
      }
    }
    for (const [point, name] of Object.entries(extension.actionNames ?? {})) {
      if (!name || name.length > APPCONFIG.actionNameMax)
        problems.push(`extension.actionNames.${point}: 1-${APPCONFIG.actionNameMax} characters`);
    }
    if (params.length > APPCONFIG.parametersMax) {
      problems.push(`config: ${params.length} extension parameters; at most ${APPCONFIG.parametersMax}`);
    }
    for (const p of params) {
      if (!APPCONFIG.namePattern.test(p.name))
        problems.push(`config.${p.name}: parameter names must match ^[^/#:\\n]{1,64}$`);
      if (p.dynamic && p.required)
        problems.push(`config.${p.name}: a dynamic parameter cannot be required (make it optional)`);
      if ((p.description?.length ?? 0) > APPCONFIG.descriptionMax)
        problems.push(`config.${p.name}: description at most ${APPCONFIG.descriptionMax} characters`);
    }
  }
  return { problems, warnings };
}
