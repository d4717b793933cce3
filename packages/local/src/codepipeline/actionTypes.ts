import { BUILTIN_TYPES } from './builtin.js';
import type { Env } from './context.js';
import { CATEGORIES, Checker, err, OWNERS, PROVIDER } from './errors.js';
import {
  type ActionType,
  type ActionTypeId,
  type ConfigurationProperty,
  type Tag,
  typeKey,
} from './model.js';

/** The registered (custom) or built-in type for an id, including types marked deleted. */
export function findActionType(
  env: Env,
  id: ActionTypeId,
): { actionType: ActionType; deleted: boolean } | undefined {
  const builtin = BUILTIN_TYPES.find((t) => typeKey(t.id) === typeKey(id));
  if (builtin) return { actionType: builtin, deleted: false };
  return env.actionTypes.get(typeKey(id));
}

export function checkActionTypeId(c: Checker, path: string, id: Partial<ActionTypeId> | undefined): void {
  if (!c.required(path, id)) return;
  c.string(`${path}.category`, id!.category, { required: true, enum: CATEGORIES });
  c.string(`${path}.owner`, id!.owner, { required: true, enum: OWNERS });
  c.string(`${path}.provider`, id!.provider, { required: true, min: 1, max: 35, pattern: PROVIDER });
  c.string(`${path}.version`, id!.version, { required: true, min: 1, max: 9, pattern: PROVIDER });
}

export function checkTags(tags: unknown): Tag[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw err('ValidationException', 'tags must be a list');
  if (tags.length > 50) throw err('TooManyTagsException', 'The tags limit for a resource has been exceeded.');
  for (const t of tags as Tag[]) {
    if (
      typeof t?.key !== 'string' ||
      t.key.length < 1 ||
      t.key.length > 128 ||
      typeof t.value !== 'string' ||
      t.value.length > 256
    ) {
      throw err('InvalidTagsException', 'The specified resource tags are invalid.');
    }
    if (t.key.startsWith('aws:')) throw err('InvalidTagsException', 'Tag keys may not start with aws:');
  }
  return tags as Tag[];
}

interface CreateInput {
  category?: string;
  provider?: string;
  version?: string;
  settings?: ActionType['settings'];
  configurationProperties?: ConfigurationProperty[];
  inputArtifactDetails?: ActionType['inputArtifactDetails'];
  outputArtifactDetails?: ActionType['outputArtifactDetails'];
  tags?: Tag[];
}

export function createCustomActionType(env: Env, input: CreateInput) {
  const c = new Checker();
  c.string('category', input.category, { required: true, enum: CATEGORIES });
  c.string('provider', input.provider, { required: true, min: 1, max: 35, pattern: PROVIDER });
  c.string('version', input.version, { required: true, min: 1, max: 9, pattern: PROVIDER });
  for (const [name, value] of Object.entries(input.settings ?? {})) {
    c.string(`settings.${name}`, value, { min: 1, max: 2048 });
  }
  const props = input.configurationProperties ?? [];
  if (props.length > 10)
    c.fail(
      'configurationProperties',
      `[${props.length} items]`,
      'Member must have length less than or equal to 10',
    );
  props.forEach((p, i) => {
    const path = `configurationProperties.${i + 1}.member`;
    c.string(`${path}.name`, p.name, { required: true, min: 1, max: 50 });
    for (const flag of ['required', 'key', 'secret'] as const) {
      if (typeof p[flag] !== 'boolean') c.required(`${path}.${flag}`, p[flag] ?? null);
    }
    c.string(`${path}.description`, p.description, { min: 1, max: 160 });
    c.string(`${path}.type`, p.type, { enum: ['String', 'Number', 'Boolean'] });
  });
  for (const field of ['inputArtifactDetails', 'outputArtifactDetails'] as const) {
    const d = input[field];
    if (!c.required(field, d)) continue;
    c.integer(`${field}.minimumCount`, d!.minimumCount, { required: true, min: 0, max: 5 });
    c.integer(`${field}.maximumCount`, d!.maximumCount, { required: true, min: 0, max: 5 });
  }
  c.throwIfAny();

  // Rules the model documents in prose, checked the way AWS reports them.
  const names = new Set<string>();
  for (const p of props) {
    if (names.has(p.name))
      throw err('ValidationException', `Duplicate configuration property name: ${p.name}`);
    names.add(p.name);
  }
  const queryable = props.filter((p) => p.queryable);
  if (queryable.length > 1)
    throw err('ValidationException', 'An action type can have at most one queryable property');
  if (queryable[0] && (!queryable[0].required || queryable[0].secret)) {
    throw err(
      'ValidationException',
      `Queryable property ${queryable[0].name} must be required and not secret`,
    );
  }
  for (const [name, template] of Object.entries(input.settings ?? {})) {
    for (const m of String(template).matchAll(/\{Config:([^}]+)\}/g)) {
      const p = props.find((q) => q.name === m[1]);
      if (!p?.required || p.secret) {
        throw err(
          'ValidationException',
          `settings.${name} references {Config:${m[1]}}, which must be a required, non-secret configuration property`,
        );
      }
    }
  }
  for (const field of ['inputArtifactDetails', 'outputArtifactDetails'] as const) {
    if (input[field]!.minimumCount > input[field]!.maximumCount) {
      throw err('ValidationException', `${field}.minimumCount must not exceed ${field}.maximumCount`);
    }
  }
  const tags = checkTags(input.tags);

  const actionType: ActionType = {
    id: { category: input.category!, owner: 'Custom', provider: input.provider!, version: input.version! },
    ...(input.settings ? { settings: input.settings } : {}),
    actionConfigurationProperties: props.map((p) => ({ queryable: false, ...p })),
    inputArtifactDetails: input.inputArtifactDetails!,
    outputArtifactDetails: input.outputArtifactDetails!,
  };
  const key = typeKey(actionType.id);
  const existing = env.actionTypes.get(key);
  if (existing) {
    // A version string belongs to one definition for ever: re-creating it (also after deletion, which is
    // how AWS restores a deleted type) is accepted only with the identical definition.
    if (JSON.stringify(existing.actionType) !== JSON.stringify(actionType)) {
      throw err(
        'ValidationException',
        `Action type ${key} already exists with a different definition; register a new version instead`,
      );
    }
    existing.deleted = false;
  } else {
    const active = [...env.actionTypes.values()].filter((t) => !t.deleted).length;
    if (active >= env.maxCustomActionTypes) {
      throw err(
        'LimitExceededException',
        'The number of custom action types exceeds the limit for this account.',
      );
    }
    env.actionTypes.set(key, { actionType, tags, deleted: false });
  }
  env.changed();
  return { actionType, tags };
}

const PAGE = 100;

export function listActionTypes(
  env: Env,
  input: { actionOwnerFilter?: string; nextToken?: string; regionFilter?: string },
) {
  const c = new Checker();
  c.string('actionOwnerFilter', input.actionOwnerFilter, { enum: OWNERS });
  c.string('nextToken', input.nextToken, { min: 1, max: 2048 });
  c.string('regionFilter', input.regionFilter, { min: 4, max: 30 });
  c.throwIfAny();
  const all = [
    ...BUILTIN_TYPES,
    ...[...env.actionTypes.values()].filter((t) => !t.deleted).map((t) => t.actionType),
  ].filter((t) => !input.actionOwnerFilter || t.id.owner === input.actionOwnerFilter);
  let start = 0;
  if (input.nextToken !== undefined) {
    const m = /^page-(\d+)$/.exec(input.nextToken);
    if (!m || Number(m[1]) > all.length) {
      throw err('InvalidNextTokenException', 'The next token was specified in an invalid format.');
    }
    start = Number(m[1]);
  }
  const page = all.slice(start, start + PAGE);
  return {
    actionTypes: page,
    ...(start + PAGE < all.length ? { nextToken: `page-${start + PAGE}` } : {}),
  };
}

export function deleteCustomActionType(
  env: Env,
  input: { category?: string; provider?: string; version?: string },
) {
  const c = new Checker();
  c.string('category', input.category, { required: true, enum: CATEGORIES });
  c.string('provider', input.provider, { required: true, min: 1, max: 35, pattern: PROVIDER });
  c.string('version', input.version, { required: true, min: 1, max: 9, pattern: PROVIDER });
  c.throwIfAny();
  const record = env.actionTypes.get(
    typeKey({
      owner: 'Custom',
      category: input.category!,
      provider: input.provider!,
      version: input.version!,
    }),
  );
  if (!record || record.deleted) throw err('ValidationException', 'The custom action type was not found.');
  // Marked, not removed: PollForJobs for it fails from now on, and the version string stays taken.
  record.deleted = true;
  env.changed();
  return {};
}
