import { badRequest } from './errors.js';
import { ACTION_POINTS, isRecord } from './invoke-actions.js';
import type { ExtensionAction, ExtensionParameter } from './store.js';

/** Extension, parameter and action names (MODEL: `^[^\/#:\n]{1,64}$`). */
export const NAME_PATTERN = /^[^/#:\n]{1,64}$/;

export function optionalString(
  body: Record<string, unknown>,
  field: string,
  limits: { min?: number; max?: number; pattern?: RegExp } = {},
): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  const { min = 0, max = Number.POSITIVE_INFINITY, pattern } = limits;
  if (value.length < min || value.length > max) {
    throw badRequest(`${field} must be between ${min} and ${max} characters long`);
  }
  if (pattern && !pattern.test(value)) throw badRequest(`${field} must match ${pattern.source}`);
  return value;
}

export function requiredString(
  body: Record<string, unknown>,
  field: string,
  limits: { min?: number; max?: number; pattern?: RegExp } = {},
): string {
  const value = optionalString(body, field, { min: 1, ...limits });
  if (value === undefined) throw badRequest(`${field} is required`);
  return value;
}

export function optionalNumber(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw badRequest(`${field} must be a number between ${min} and ${max}`);
  }
  return value;
}

/** CreateExtension/UpdateExtension `Actions`: 1–5 known action points, exactly one action each. */
export function validateActions(value: unknown): Record<string, ExtensionAction[]> {
  if (!isRecord(value)) throw badRequest('Actions is required');
  const entries = Object.entries(value);
  if (entries.length < 1 || entries.length > 5) {
    throw badRequest(`Actions must have between 1 and 5 action points, got ${entries.length}`);
  }
  const out: Record<string, ExtensionAction[]> = {};
  for (const [point, list] of entries) {
    if (!(ACTION_POINTS as readonly string[]).includes(point)) {
      throw badRequest(`${point} is not an action point (${ACTION_POINTS.join(', ')})`);
    }
    if (!Array.isArray(list) || list.length !== 1) {
      throw badRequest(`Action point ${point} must have exactly 1 action`);
    }
    const action = list[0];
    if (!isRecord(action)) throw badRequest(`The action of ${point} must be an object`);
    const Name = requiredString(action, 'Name', { max: 64 });
    const Description = optionalString(action, 'Description', { max: 1024 });
    const Uri = requiredString(action, 'Uri', { max: 2048 });
    const RoleArn = optionalString(action, 'RoleArn', { min: 20, max: 2048 });
    out[point] = [
      { Name, Uri, ...(Description !== undefined ? { Description } : {}), ...(RoleArn ? { RoleArn } : {}) },
    ];
  }
  return out;
}

/** Extension `Parameters`: 1–10 when present, names like extension names, never both Dynamic and Required. */
export function validateParameters(value: unknown): Record<string, ExtensionParameter> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw badRequest('Parameters must be a map');
  const entries = Object.entries(value);
  if (entries.length < 1 || entries.length > 10) {
    throw badRequest(`Parameters must have between 1 and 10 entries, got ${entries.length}`);
  }
  const out: Record<string, ExtensionParameter> = {};
  for (const [name, p] of entries) {
    if (!NAME_PATTERN.test(name))
      throw badRequest(`Parameter name ${JSON.stringify(name)} must match ${NAME_PATTERN.source}`);
    const param = isRecord(p) ? p : {};
    const Description = optionalString(param, 'Description', { max: 1024 });
    const Required = param.Required === true;
    const Dynamic = param.Dynamic === true;
    if (Required && Dynamic) throw badRequest(`Parameter ${name} cannot be both Dynamic and Required`);
    out[name] = { Required, Dynamic, ...(Description !== undefined ? { Description } : {}) };
  }
  return out;
}

/** Association parameters: 0–10 declared names, values 1–2048 characters, every Required one present. */
export function validateAssociationParameters(
  value: unknown,
  declared: Record<string, ExtensionParameter>,
): Record<string, string> {
  const params = value == null ? {} : value;
  if (!isRecord(params)) throw badRequest('Parameters must be a map of strings');
  const entries = Object.entries(params);
  if (entries.length > 10) throw badRequest(`Parameters must have at most 10 entries, got ${entries.length}`);
  const out: Record<string, string> = {};
  for (const [name, v] of entries) {
    if (!(name in declared)) throw badRequest(`Parameter ${name} is not declared by the extension`);
    if (typeof v !== 'string' || v.length < 1 || v.length > 2048) {
      throw badRequest(`Parameter ${name} must be a string of 1 to 2048 characters`);
    }
    out[name] = v;
  }
  const missing = Object.entries(declared)
    .filter(([name, p]) => p.Required && !(name in out))
    .map(([name]) => name);
  if (missing.length) throw badRequest(`Required parameters are missing: ${missing.join(', ')}`);
  return out;
}
