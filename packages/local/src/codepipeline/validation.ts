import { checkActionTypeId, findActionType } from './actionTypes.js';
import type { Env } from './context.js';
import { Checker, err, NAME } from './errors.js';
import type { PipelineDeclaration } from './model.js';

const ARTIFACT_NAME = /^[a-zA-Z0-9_-]+$/;
const NAMESPACE = /^[A-Za-z0-9@\-_]+$/;

/**
 * Checks a pipeline declaration the way CreatePipeline and UpdatePipeline do: model constraints first (one
 * ValidationException listing them all), then the structural rules of the user guide, each with the
 * exception AWS uses for that part of the declaration.
 */
export function validatePipeline(env: Env, p: PipelineDeclaration): void {
  const c = new Checker();
  if (!c.required('pipeline', p)) c.throwIfAny();
  c.string('pipeline.name', p.name, { required: true, min: 1, max: 100, pattern: NAME });
  c.string('pipeline.roleArn', p.roleArn, { required: true, max: 1024 });
  c.required('pipeline.stages', p.stages);
  c.string('pipeline.executionMode', p.executionMode, { enum: ['QUEUED', 'SUPERSEDED', 'PARALLEL'] });
  c.string('pipeline.pipelineType', p.pipelineType, { enum: ['V1', 'V2'] });
  (p.stages ?? []).forEach((s, i) => {
    const sp = `pipeline.stages.${i + 1}.member`;
    c.string(`${sp}.name`, s?.name, { required: true, min: 1, max: 100, pattern: NAME });
    c.required(`${sp}.actions`, s?.actions);
    (s?.actions ?? []).forEach((a, j) => {
      const ap = `${sp}.actions.${j + 1}.member`;
      c.string(`${ap}.name`, a?.name, { required: true, min: 1, max: 100, pattern: NAME });
      checkActionTypeId(c, `${ap}.actionTypeId`, a?.actionTypeId);
      c.integer(`${ap}.runOrder`, a?.runOrder, { min: 1, max: 999 });
      c.string(`${ap}.namespace`, a?.namespace, { min: 1, max: 100, pattern: NAMESPACE });
      for (const [k, v] of Object.entries(a?.configuration ?? {})) {
        c.string(`${ap}.configuration.${k}`, k, { min: 1, max: 50 });
        c.string(`${ap}.configuration.${k}`, v, { min: 1, max: 1000 });
      }
      for (const art of [...(a?.inputArtifacts ?? []), ...(a?.outputArtifacts ?? [])]) {
        c.string(`${ap}.artifacts.name`, art?.name, {
          required: true,
          min: 1,
          max: 100,
          pattern: ARTIFACT_NAME,
        });
      }
    });
  });
  c.throwIfAny();

  if (p.artifactStore && p.artifactStores) {
    throw err('InvalidStructureException', 'Pipeline cannot have both artifactStore and artifactStores');
  }
  if (!p.artifactStore && !p.artifactStores) {
    throw err('InvalidStructureException', 'Pipeline must have an artifactStore');
  }
  for (const store of [p.artifactStore, ...Object.values(p.artifactStores ?? {})]) {
    if (!store) continue;
    if (
      store.type !== 'S3' ||
      typeof store.location !== 'string' ||
      !/^[a-zA-Z0-9\-.]{3,63}$/.test(store.location)
    ) {
      throw err(
        'InvalidStructureException',
        'ArtifactStore must be of type S3 with a valid bucket name as location',
      );
    }
    if (store.encryptionKey && (store.encryptionKey.type !== 'KMS' || !store.encryptionKey.id)) {
      throw err('InvalidStructureException', 'ArtifactStore encryptionKey must have an id and type KMS');
    }
  }
  if (p.stages.length < 2) throw err('InvalidStructureException', 'Pipeline must contain at least 2 stages');

  const stageNames = new Set<string>();
  const outputs = new Map<string, { stage: number; runOrder: number }>();
  p.stages.forEach((stage, si) => {
    if (stageNames.has(stage.name))
      throw err('InvalidStructureException', `Stage name ${stage.name} is not unique`);
    stageNames.add(stage.name);
    if (stage.actions.length === 0 || stage.actions.length > 50) {
      throw err(
        'InvalidStageDeclarationException',
        `Stage ${stage.name} must contain between 1 and 50 actions`,
      );
    }
    const actionNames = new Set<string>();
    for (const a of stage.actions) {
      if (actionNames.has(a.name)) {
        throw err(
          'InvalidStageDeclarationException',
          `Action name ${a.name} in stage ${stage.name} is not unique`,
        );
      }
      actionNames.add(a.name);
      const isSource = a.actionTypeId.category === 'Source';
      if (si === 0 && !isSource) {
        throw err(
          'InvalidStructureException',
          `The first stage (${stage.name}) may contain only source actions`,
        );
      }
      if (si > 0 && isSource) {
        throw err('InvalidStructureException', `Source action ${a.name} is allowed only in the first stage`);
      }
      const found = findActionType(env, a.actionTypeId);
      if (!found || found.deleted) {
        throw err(
          'InvalidActionDeclarationException',
          `ActionType (Category: '${a.actionTypeId.category}', Provider: '${a.actionTypeId.provider}', Owner: '${a.actionTypeId.owner}', Version: '${a.actionTypeId.version}') in action '${a.name}' is not available`,
        );
      }
      if (a.region && a.actionTypeId.owner !== 'AWS') {
        throw err(
          'InvalidActionDeclarationException',
          `Action ${a.name}: cross-Region actions are not allowed for ${a.actionTypeId.owner} actions`,
        );
      }
      const type = found.actionType;
      const inputs = a.inputArtifacts ?? [];
      const outs = a.outputArtifacts ?? [];
      const count = (n: number, d: { minimumCount: number; maximumCount: number }, what: string) => {
        if (n < d.minimumCount || n > d.maximumCount) {
          throw err(
            'InvalidActionDeclarationException',
            `Action ${a.name} has ${n} ${what} artifacts; its action type allows ${d.minimumCount} to ${d.maximumCount}`,
          );
        }
      };
      count(inputs.length, type.inputArtifactDetails, 'input');
      count(outs.length, type.outputArtifactDetails, 'output');
      const config = a.configuration ?? {};
      for (const prop of type.actionConfigurationProperties ?? []) {
        if (prop.required && !(prop.name in config)) {
          throw err(
            'InvalidActionDeclarationException',
            `Action configuration for action '${a.name}' is missing required configuration '${prop.name}'`,
          );
        }
        if (prop.queryable && prop.name in config && !/^[A-Za-z0-9_-]{1,20}$/.test(config[prop.name]!)) {
          throw err(
            'InvalidActionDeclarationException',
            `Queryable property ${prop.name} of action ${a.name} must be 1-20 characters of [A-Za-z0-9_-]`,
          );
        }
      }
      for (const k of Object.keys(config)) {
        if (!(type.actionConfigurationProperties ?? []).some((prop) => prop.name === k)) {
          throw err(
            'InvalidActionDeclarationException',
            `Action configuration for action '${a.name}' contains unknown configuration '${k}'`,
          );
        }
      }
      const runOrder = a.runOrder ?? 1;
      for (const input of inputs) {
        const producer = outputs.get(input.name);
        if (!producer || (producer.stage === si && producer.runOrder >= runOrder)) {
          throw err(
            'InvalidStructureException',
            `Input artifact ${input.name} of action ${a.name} is not the output of a preceding action`,
          );
        }
      }
      for (const out of outs) {
        if (outputs.has(out.name))
          throw err('InvalidStructureException', `Output artifact name ${out.name} is not unique`);
      }
      // Outputs are registered after the whole action so an action cannot consume its own output.
      for (const out of outs) outputs.set(out.name, { stage: si, runOrder });
    }
  });
  const namespaces = new Set<string>();
  for (const a of p.stages.flatMap((s) => s.actions)) {
    if (!a.namespace) continue;
    if (namespaces.has(a.namespace))
      throw err('InvalidStructureException', `Namespace ${a.namespace} is not unique`);
    namespaces.add(a.namespace);
  }
}
