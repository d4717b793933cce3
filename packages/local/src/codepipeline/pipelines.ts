import { checkTags } from './actionTypes.js';
import { type Env, epoch, pipelineArn } from './context.js';
import { Checker, err, NAME } from './errors.js';
import { type PipelineDeclaration, type PipelineRecord, typeKey } from './model.js';
import { validatePipeline } from './validation.js';

const MASK = '****';

export function getPipelineRecord(env: Env, name: unknown): PipelineRecord {
  const c = new Checker();
  c.string('name', name, { required: true, min: 1, max: 100, pattern: NAME });
  c.throwIfAny();
  const record = env.pipelines.get(name as string);
  if (!record)
    throw err(
      'PipelineNotFoundException',
      `Account '${env.accountId}' does not have a pipeline with name '${name}'`,
    );
  return record;
}

/** Secret configuration values never leave the service, except inside jobs (as on AWS). */
function masked(env: Env, p: PipelineDeclaration): PipelineDeclaration {
  const copy = structuredClone(p);
  for (const a of copy.stages.flatMap((s) => s.actions)) {
    const type = env.actionTypes.get(typeKey(a.actionTypeId));
    for (const prop of type?.actionType.actionConfigurationProperties ?? []) {
      if (prop.secret && a.configuration && prop.name in a.configuration) a.configuration[prop.name] = MASK;
    }
  }
  return copy;
}

function registerStores(env: Env, p: PipelineDeclaration): void {
  for (const store of [p.artifactStore, ...Object.values(p.artifactStores ?? {})]) {
    if (store) env.artifactBuckets.add(store.location);
  }
}

export function createPipeline(env: Env, input: { pipeline?: PipelineDeclaration; tags?: unknown }) {
  const p = input.pipeline!;
  validatePipeline(env, p);
  const tags = checkTags(input.tags);
  if (env.pipelines.has(p.name))
    throw err('PipelineNameInUseException', `PipelineName ${p.name} is already in use`);
  const now = Date.now();
  const pipeline = { ...structuredClone(p), version: 1 };
  env.pipelines.set(p.name, { pipeline, created: now, updated: now, tags });
  registerStores(env, pipeline);
  env.changed();
  return { pipeline: masked(env, pipeline), ...(tags.length ? { tags } : {}) };
}

export function getPipeline(env: Env, input: { name?: string; version?: number }) {
  const record = getPipelineRecord(env, input.name);
  if (input.version !== undefined && input.version !== record.pipeline.version) {
    // Only the current version is kept locally.
    throw err(
      'PipelineVersionNotFoundException',
      `Pipeline version ${input.version} of ${input.name} was not found`,
    );
  }
  return {
    pipeline: masked(env, record.pipeline),
    metadata: {
      pipelineArn: pipelineArn(env, record.pipeline.name),
      created: epoch(record.created),
      updated: epoch(record.updated),
    },
  };
}

export function updatePipeline(env: Env, input: { pipeline?: PipelineDeclaration }) {
  const p = structuredClone(input.pipeline!);
  const record = getPipelineRecord(env, p?.name);
  // "****" for a secret keeps the stored value, as long as the action keeps its stage and name.
  for (const stage of p.stages ?? []) {
    for (const a of stage.actions) {
      for (const [k, v] of Object.entries(a.configuration ?? {})) {
        if (v !== MASK) continue;
        const old = record.pipeline.stages
          .find((s) => s.name === stage.name)
          ?.actions.find((x) => x.name === a.name);
        if (old?.configuration?.[k] !== undefined) a.configuration![k] = old.configuration[k];
      }
    }
  }
  validatePipeline(env, p);
  const pipeline = { ...p, version: (record.pipeline.version ?? 1) + 1 };
  record.pipeline = pipeline;
  record.updated = Date.now();
  registerStores(env, pipeline);
  env.changed();
  return { pipeline: masked(env, pipeline) };
}

export function listPipelines(env: Env, input: { nextToken?: string; maxResults?: number }) {
  const c = new Checker();
  c.integer('maxResults', input.maxResults, { min: 1, max: 1000 });
  c.throwIfAny();
  const all = [...env.pipelines.values()].sort((a, b) => a.pipeline.name.localeCompare(b.pipeline.name));
  const start = input.nextToken ? Number(/^p(\d+)$/.exec(input.nextToken)?.[1] ?? Number.NaN) : 0;
  if (Number.isNaN(start))
    throw err('InvalidNextTokenException', 'The next token was specified in an invalid format.');
  const size = input.maxResults ?? 100;
  const page = all.slice(start, start + size);
  return {
    pipelines: page.map((r) => ({
      name: r.pipeline.name,
      version: r.pipeline.version,
      pipelineType: r.pipeline.pipelineType ?? 'V1',
      executionMode: r.pipeline.executionMode ?? env.defaultExecutionMode,
      created: epoch(r.created),
      updated: epoch(r.updated),
    })),
    ...(start + size < all.length ? { nextToken: `p${start + size}` } : {}),
  };
}

export function deletePipeline(env: Env, input: { name?: string }) {
  const c = new Checker();
  c.string('name', input.name, { required: true, min: 1, max: 100, pattern: NAME });
  c.throwIfAny();
  env.pipelines.delete(input.name!);
  env.changed();
  return {};
}
