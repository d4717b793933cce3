import type { LambdaInvoker } from '../lambda/server.js';
import { badRequest, type InvalidConfigurationDetail } from './errors.js';
import type { ExtensionAction, ExtensionAssociation, ExtensionVersion, Store } from './store.js';

export const ACTION_POINTS = [
  'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
  'PRE_START_DEPLOYMENT',
  'AT_DEPLOYMENT_TICK',
  'ON_DEPLOYMENT_START',
  'ON_DEPLOYMENT_STEP',
  'ON_DEPLOYMENT_BAKING',
  'ON_DEPLOYMENT_COMPLETE',
  'ON_DEPLOYMENT_ROLLED_BACK',
] as const;
export type ActionPoint = (typeof ACTION_POINTS)[number];

/** The payload `Type` of each action point (appconfig.md §1). */
export const PAYLOAD_TYPES: Record<ActionPoint, string> = {
  PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigurationVersion',
  PRE_START_DEPLOYMENT: 'PreStartDeployment',
  // AWS's payload reference shows "OnDeploymentStart" for the tick, an evident copy/paste error. We send
  // "AtDeploymentTick" (the naming scheme of every other point, and what other emulators send) by default;
  // `payloadQuirks.tickType` reproduces the documented value so handlers can be tested against both.
  AT_DEPLOYMENT_TICK: 'AtDeploymentTick',
  ON_DEPLOYMENT_START: 'OnDeploymentStart',
  ON_DEPLOYMENT_STEP: 'OnDeploymentStep',
  ON_DEPLOYMENT_BAKING: 'OnDeploymentBaking',
  ON_DEPLOYMENT_COMPLETE: 'OnDeploymentComplete',
  ON_DEPLOYMENT_ROLLED_BACK: 'OnDeploymentRolledBack',
};

/** One `ActionInvocation` of a deployment's event log. */
export interface ActionInvocationRecord {
  ExtensionIdentifier: string;
  ActionName: string;
  Uri: string;
  RoleArn?: string;
  ErrorMessage?: string;
  ErrorCode?: string;
  InvocationId: string;
}

/** An action of an associated extension, with the parameters it is invoked with. */
export interface BoundAction {
  association: ExtensionAssociation;
  extension: ExtensionVersion;
  action: ExtensionAction;
  parameters: Record<string, string>;
}

export interface ActionOutcome {
  record: ActionInvocationRecord;
  /** The function's JSON result when it succeeded and did not answer with `Error`. */
  response?: unknown;
  error?: { code: string; message: string; details?: unknown; value?: string };
}

/**
 * The actions bound to an action point for a set of resources, in resource order (application, environment,
 * profile) and then association order. AWS does not document the order between several extensions.
 */
export function actionsFor(
  store: Store,
  point: ActionPoint,
  resourceArns: string[],
  dynamic: Map<string, Record<string, string>> = new Map(),
): BoundAction[] {
  const bound: BoundAction[] = [];
  for (const arn of resourceArns) {
    for (const association of store.associations.values()) {
      if (association.ResourceArn !== arn) continue;
      const extension = store.associatedExtension(association);
      const action = extension?.Actions[point]?.[0];
      if (!extension || !action) continue;
      bound.push({
        association,
        extension,
        action,
        parameters: { ...association.Parameters, ...dynamic.get(extension.Id) },
      });
    }
  }
  return bound;
}

/** Invokes one action's Lambda function and classifies the answer. Never throws. */
export async function invokeAction(
  lambda: LambdaInvoker | undefined,
  bound: BoundAction,
  invocationId: string,
  payload: Record<string, unknown>,
): Promise<ActionOutcome> {
  const record: ActionInvocationRecord = {
    ExtensionIdentifier: bound.extension.Id,
    ActionName: bound.action.Name,
    Uri: bound.action.Uri,
    InvocationId: invocationId,
    ...(bound.action.RoleArn ? { RoleArn: bound.action.RoleArn } : {}),
  };
  const fail = (code: string, message: string, extra: Partial<NonNullable<ActionOutcome['error']>> = {}) => {
    record.ErrorCode = code;
    record.ErrorMessage = message;
    return { record, error: { code, message, ...extra } };
  };
  if (!/^arn:aws:lambda:/.test(bound.action.Uri)) {
    return fail('UnsupportedTarget', `The local stack only invokes Lambda actions, not ${bound.action.Uri}`);
  }
  if (!lambda)
    return fail('LambdaUnavailable', 'No local Lambda service is connected to the AppConfig server');
  let result: Awaited<ReturnType<LambdaInvoker['invoke']>>;
  try {
    result = await lambda.invoke(bound.action.Uri, payload);
  } catch (err) {
    return fail((err as Error)?.name ?? 'Error', String((err as Error)?.message ?? err));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.payload);
  } catch {
    parsed = result.payload;
  }
  if (result.functionError) {
    const shape = (parsed ?? {}) as { errorType?: string; errorMessage?: string };
    return fail(shape.errorType ?? 'Unhandled', shape.errorMessage ?? 'The Lambda function failed', {
      value: result.payload,
    });
  }
  if (isRecord(parsed) && parsed.Error) {
    return fail(String(parsed.Error), String(parsed.Message ?? parsed.Error), { details: parsed.Details });
  }
  return { record, response: parsed };
}

/** The failure of a synchronous PRE_* action as AppConfig reports it: a BadRequestException with the details. */
export function rejection(point: ActionPoint, bound: BoundAction, outcome: ActionOutcome) {
  const error = outcome.error!;
  return badRequest(
    `Extension ${bound.extension.Name} (action ${bound.action.Name}) failed at ${point}: ${error.message}`,
    toDetails(error),
  );
}

/**
 * Maps an extension's `Details` onto `InvalidConfigurationDetail`. AWS does not document this mapping; we keep
 * every field an extension is known to send (`Type`, `Name`, `Reason`, and `Location`/`Constraint`/`Value`).
 */
function toDetails(error: NonNullable<ActionOutcome['error']>): InvalidConfigurationDetail[] {
  const items = Array.isArray(error.details) ? error.details : error.details != null ? [error.details] : [];
  if (items.length === 0) {
    return [clean({ Type: error.code, Reason: error.message, Value: error.value })];
  }
  return items.map((item) => {
    if (!isRecord(item)) return { Type: error.code, Reason: String(item) };
    return clean({
      Type: str(item.Type) ?? error.code,
      Location: str(item.Location) ?? str(item.Name) ?? str(item.Path),
      Reason: str(item.Reason) ?? str(item.Message) ?? error.message,
      Constraint: str(item.Constraint),
      Value: str(item.Value) ?? error.value,
    });
  });
}

/** The new content of a PRE_* response, or undefined to keep the content (`null`, no `Content`). */
export function replacedContent(
  bound: BoundAction,
  point: ActionPoint,
  response: unknown,
): Buffer | undefined {
  if (!isRecord(response) || response.Content == null) return undefined;
  const content = response.Content;
  if (typeof content !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(content)) {
    throw badRequest(`Extension ${bound.extension.Name} returned Content that is not base64 at ${point}`, [
      { Type: 'InvalidContent', Reason: 'Content must be a base64 string' },
    ]);
  }
  return Buffer.from(content, 'base64');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (value == null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function clean(detail: InvalidConfigurationDetail): InvalidConfigurationDetail {
  return Object.fromEntries(
    Object.entries(detail).filter(([, v]) => v !== undefined),
  ) as InvalidConfigurationDetail;
}
