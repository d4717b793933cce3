/** AppConfig extension action points, their events as pipewright hands them to handlers, and responses. */

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
export type PreActionPoint = Extract<ActionPoint, `PRE_${string}`>;
export type OnActionPoint = Extract<ActionPoint, `ON_${string}`>;

/** The `Type` member AppConfig puts in each action point's payload. */
export const EVENT_TYPES: Record<ActionPoint, string> = {
  PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigurationVersion',
  PRE_START_DEPLOYMENT: 'PreStartDeployment',
  AT_DEPLOYMENT_TICK: 'AtDeploymentTick',
  ON_DEPLOYMENT_START: 'OnDeploymentStart',
  ON_DEPLOYMENT_STEP: 'OnDeploymentStep',
  ON_DEPLOYMENT_BAKING: 'OnDeploymentBaking',
  ON_DEPLOYMENT_COMPLETE: 'OnDeploymentComplete',
  ON_DEPLOYMENT_ROLLED_BACK: 'OnDeploymentRolledBack',
};

export interface ResourceRef {
  id: string;
  name: string | undefined;
}

interface EventBase {
  invocationId: string;
  /** Association and dynamic parameters, as strings. */
  parameters: Record<string, string>;
  application: ResourceRef;
  configurationProfile: ResourceRef | undefined;
  /** Empty and null descriptions both become undefined. */
  description: string | undefined;
}

export interface Content {
  bytes: Uint8Array;
  contentType: string | undefined;
  version: string | undefined;
  /** The bytes as UTF-8 text. */
  text(): string;
}

export interface PreCreateHostedConfigurationVersionEvent extends EventBase {
  actionPoint: 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION';
  content: Content;
  previousContent: Content | undefined;
}

export interface PreStartDeploymentEvent extends EventBase {
  actionPoint: 'PRE_START_DEPLOYMENT';
  content: Content;
  environment: ResourceRef | undefined;
  deploymentNumber: number | undefined;
}

export interface DeploymentTickEvent extends EventBase {
  actionPoint: 'AT_DEPLOYMENT_TICK';
  environment: ResourceRef | undefined;
  deploymentNumber: number | undefined;
  configurationVersion: string | undefined;
  deploymentState: string | undefined;
  /** 0-100; AppConfig sends it as a string. */
  percentageComplete: number | undefined;
}

export interface DeploymentNotificationEvent<P extends OnActionPoint = OnActionPoint> extends EventBase {
  actionPoint: P;
  environment: ResourceRef | undefined;
  deploymentNumber: number | undefined;
  configurationVersion: string | undefined;
}

export type PreEvent = PreCreateHostedConfigurationVersionEvent | PreStartDeploymentEvent;
export type AppConfigEvent = PreEvent | DeploymentTickEvent | DeploymentNotificationEvent;

export type EventFor<P extends ActionPoint> = P extends 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION'
  ? PreCreateHostedConfigurationVersionEvent
  : P extends 'PRE_START_DEPLOYMENT'
    ? PreStartDeploymentEvent
    : P extends 'AT_DEPLOYMENT_TICK'
      ? DeploymentTickEvent
      : P extends OnActionPoint
        ? DeploymentNotificationEvent<P>
        : never;

/** A detail of a rejection, as AppConfig shows it: `{ Type, Name, Reason }`. */
export interface RejectionDetail {
  type: string;
  name: string;
  reason: string;
}

export interface Rejection {
  kind: 'reject';
  message: string;
  details: RejectionDetail[];
}

/** Refuse the configuration (PRE_*) or roll back (AT_DEPLOYMENT_TICK) with a message and details. */
export function reject(message: string, details: RejectionDetail[] = []): Rejection {
  return { kind: 'reject', message, details };
}

/** What a PRE_* handler may return: nothing (pass through), new content, or a rejection. */
export type PreResult = void | undefined | { content: Uint8Array | string } | Rejection;
export type TickResult =
  | void
  | undefined
  | { directive: 'CONTINUE' | 'ROLL_BACK'; description?: string }
  | Rejection;
export type OnResult = void | undefined;

export type ResultFor<P extends ActionPoint> = P extends PreActionPoint
  ? PreResult
  : P extends 'AT_DEPLOYMENT_TICK'
    ? TickResult
    : OnResult;

/** The JSON AppConfig expects back from the Lambda function. */
export type AppConfigResponse =
  | null
  | { Content: string }
  | { Directive: 'CONTINUE' | 'ROLL_BACK'; Description?: string }
  | { Error: string; Message: string; Details: { Type: string; Name: string; Reason: string }[] };
