import {
  ACTION_POINTS,
  type ActionPoint,
  type AppConfigEvent,
  type Content,
  EVENT_TYPES,
  type ResourceRef,
} from './appconfig.js';

/** The event could not be understood; the message says which member and why. */
export class EventParseError extends Error {
  override readonly name = 'EventParseError';
}

const TYPE_TO_POINT = new Map<string, ActionPoint>(
  ACTION_POINTS.map((p) => [EVENT_TYPES[p].toLowerCase(), p]),
);
// Names seen in emulators and older docs for the same points.
TYPE_TO_POINT.set('onstartdeployment', 'ON_DEPLOYMENT_START');
for (const point of ACTION_POINTS) TYPE_TO_POINT.set(point.toLowerCase(), point);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function str(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function num(value: unknown, member: string): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n))
    throw new EventParseError(`${member} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function ref(value: unknown, member: string, required: boolean): ResourceRef | undefined {
  if (value === null || value === undefined) {
    if (required) throw new EventParseError(`${member} is missing; every AppConfig extension event names it`);
    return undefined;
  }
  if (typeof value !== 'object') throw new EventParseError(`${member} must be an object with Id`);
  const o = value as Record<string, unknown>;
  const id = str(o.Id ?? o.id);
  if (!id) throw new EventParseError(`${member}.Id is missing`);
  return { id, name: str(o.Name ?? o.name) };
}

function decode(value: unknown, member: string): Uint8Array {
  if (typeof value !== 'string') throw new EventParseError(`${member} must be a base64 string`);
  const compact = value.replace(/\s+/g, '');
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    throw new EventParseError(`${member} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

function content(bytes: Uint8Array, contentType: unknown, version: unknown): Content {
  return {
    bytes,
    contentType: str(contentType),
    version: str(version),
    text: () => new TextDecoder().decode(bytes),
  };
}

function parameters(value: unknown): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new EventParseError('Parameters must be an object');
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}

/**
 * Works out which action point an event is for. A tick is recognised by `DeploymentState` or
 * `PercentageComplete`, because AWS's documented tick payload carries `Type: "OnDeploymentStart"`.
 */
export function actionPointOf(raw: Record<string, unknown>): ActionPoint {
  const type = raw.Type;
  if ('DeploymentState' in raw || 'PercentageComplete' in raw) return 'AT_DEPLOYMENT_TICK';
  if (typeof type !== 'string' || type === '') {
    throw new EventParseError(
      `Type is missing; expected one of ${ACTION_POINTS.map((p) => EVENT_TYPES[p]).join(', ')}`,
    );
  }
  const point = TYPE_TO_POINT.get(type.toLowerCase());
  if (!point) {
    throw new EventParseError(
      `unknown Type ${JSON.stringify(type)}; expected one of ${ACTION_POINTS.map((p) => EVENT_TYPES[p]).join(', ')}`,
    );
  }
  return point;
}

/** Unwraps the envelopes AppConfig's notification extensions use (EventBridge `detail`, SNS `Message`). */
function unwrapEnvelope(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.detail && typeof raw.detail === 'object' && raw.source === 'aws.appconfig') {
    return raw.detail as Record<string, unknown>;
  }
  if (typeof raw.Message === 'string' && raw.Type === 'Notification') {
    try {
      return JSON.parse(raw.Message) as Record<string, unknown>;
    } catch {
      throw new EventParseError('SNS Message is not valid JSON');
    }
  }
  return raw;
}

/**
 * Parses a Lambda event from AppConfig, tolerating what AWS's own samples disagree on: DeploymentNumber as a
 * number or a string, null or empty Description, missing Names, the tick's wrong Type.
 */
export function parseAppConfigEvent(input: unknown): AppConfigEvent {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new EventParseError('the event must be a JSON object');
  }
  const raw = unwrapEnvelope(input as Record<string, unknown>);
  const actionPoint = actionPointOf(raw);
  const base = {
    invocationId: str(raw.InvocationId) ?? '',
    parameters: parameters(raw.Parameters),
    application: ref(raw.Application, 'Application', true) as ResourceRef,
    configurationProfile: ref(raw.ConfigurationProfile, 'ConfigurationProfile', false),
    description: str(raw.Description),
  };
  switch (actionPoint) {
    case 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION': {
      const previous = raw.PreviousContent as Record<string, unknown> | null | undefined;
      return {
        ...base,
        actionPoint,
        content: content(decode(raw.Content, 'Content'), raw.ContentType, raw.ContentVersion),
        previousContent:
          previous &&
          typeof previous === 'object' &&
          previous.Content !== undefined &&
          previous.Content !== null
            ? content(
                decode(previous.Content, 'PreviousContent.Content'),
                previous.ContentType,
                previous.ContentVersion,
              )
            : undefined,
      };
    }
    case 'PRE_START_DEPLOYMENT':
      return {
        ...base,
        actionPoint,
        content: content(decode(raw.Content, 'Content'), raw.ContentType, raw.ContentVersion),
        environment: ref(raw.Environment, 'Environment', false),
        deploymentNumber: num(raw.DeploymentNumber, 'DeploymentNumber'),
      };
    case 'AT_DEPLOYMENT_TICK':
      return {
        ...base,
        actionPoint,
        environment: ref(raw.Environment, 'Environment', false),
        deploymentNumber: num(raw.DeploymentNumber, 'DeploymentNumber'),
        configurationVersion: str(raw.ConfigurationVersion),
        deploymentState: str(raw.DeploymentState),
        percentageComplete: num(raw.PercentageComplete, 'PercentageComplete'),
      };
    default:
      return {
        ...base,
        actionPoint,
        environment: ref(raw.Environment, 'Environment', false),
        deploymentNumber: num(raw.DeploymentNumber, 'DeploymentNumber'),
        configurationVersion: str(raw.ConfigurationVersion),
      };
  }
}
