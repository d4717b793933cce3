import { ACTION_POINTS, type ActionPoint } from './appconfig.js';
import { type AnyPlugin, actionProperties, extensionParameters } from './plugin.js';

/** The input of CodePipeline's CreateCustomActionType, as the AWS CLI's --cli-input-json takes it. */
export interface CreateCustomActionTypeInput {
  category: string;
  provider: string;
  version: string;
  settings?: Record<string, string>;
  configurationProperties: {
    name: string;
    required: boolean;
    key: boolean;
    secret: boolean;
    queryable: boolean;
    description?: string;
    type: 'String' | 'Number' | 'Boolean';
  }[];
  inputArtifactDetails: { minimumCount: number; maximumCount: number };
  outputArtifactDetails: { minimumCount: number; maximumCount: number };
  tags?: { key: string; value: string }[];
}

function requireAction(plugin: AnyPlugin) {
  if (!plugin.action) throw new Error(`plugin ${plugin.name} defines no custom action`);
  return plugin.action;
}

export function createCustomActionTypeInput(plugin: AnyPlugin): CreateCustomActionTypeInput {
  const action = requireAction(plugin);
  const settings = Object.fromEntries(
    Object.entries(action.settings ?? {}).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const tags = Object.entries(action.tags ?? {}).map(([key, value]) => ({ key, value }));
  return {
    category: action.category,
    provider: action.provider,
    version: action.version,
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    configurationProperties: actionProperties(plugin).map((p) => ({
      name: p.name,
      required: p.required,
      key: p.key,
      secret: p.secret,
      queryable: p.queryable,
      ...(p.description !== undefined ? { description: p.description } : {}),
      type: p.type,
    })),
    inputArtifactDetails: {
      minimumCount: action.inputArtifacts?.minimum ?? 0,
      maximumCount: action.inputArtifacts?.maximum ?? 0,
    },
    outputArtifactDetails: {
      minimumCount: action.outputArtifacts?.minimum ?? 0,
      maximumCount: action.outputArtifacts?.maximum ?? 0,
    },
    ...(tags.length > 0 ? { tags } : {}),
  };
}

/** The action type id CodePipeline gives a custom action (owner is always Custom). */
export function actionTypeId(plugin: AnyPlugin) {
  const action = requireAction(plugin);
  return {
    category: action.category,
    owner: 'Custom' as const,
    provider: action.provider,
    version: action.version,
  };
}

/** The input of AppConfig's CreateExtension. */
export interface CreateExtensionInput {
  Name: string;
  Description?: string;
  Actions: Partial<
    Record<ActionPoint, { Name: string; Uri: string; RoleArn?: string; Description?: string }[]>
  >;
  Parameters?: Record<string, { Required: boolean; Description?: string; Dynamic?: boolean }>;
}

function pascal(point: ActionPoint): string {
  return point
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** The default name of an extension action: `PreStartDeploymentAction`. */
export function defaultActionName(point: ActionPoint): string {
  return `${pascal(point)}Action`;
}

export function createExtensionInput(
  plugin: AnyPlugin,
  target: { lambdaArn: string; roleArn?: string },
): CreateExtensionInput {
  const extension = plugin.extension;
  if (!extension) throw new Error(`plugin ${plugin.name} defines no extension`);
  const points = ACTION_POINTS.filter((p) => extension.handlers[p] !== undefined);
  const actions = Object.fromEntries(
    points.map((point) => [
      point,
      [
        {
          Name: extension.actionNames?.[point] ?? defaultActionName(point),
          Uri: target.lambdaArn,
          ...(target.roleArn ? { RoleArn: target.roleArn } : {}),
        },
      ],
    ]),
  );
  const params = extensionParameters(plugin);
  return {
    Name: extension.name,
    ...(extension.description ? { Description: extension.description } : {}),
    Actions: actions,
    ...(params.length > 0
      ? {
          Parameters: Object.fromEntries(
            params.map((p) => [
              p.name,
              {
                Required: p.required,
                ...(p.description !== undefined ? { Description: p.description } : {}),
                ...(p.dynamic ? { Dynamic: true } : {}),
              },
            ]),
          ),
        }
      : {}),
  };
}

/** The five job-worker actions of CodePipeline. */
export const WORKER_ACTIONS = [
  'codepipeline:PollForJobs',
  'codepipeline:AcknowledgeJob',
  'codepipeline:GetJobDetails',
  'codepipeline:PutJobSuccessResult',
  'codepipeline:PutJobFailureResult',
] as const;

/**
 * The job worker's least-privilege IAM policy: the five job actions on the plugins' action types only.
 * Artifact access needs no statement: the worker uses each job's own artifact credentials.
 */
export function workerPolicy(
  plugins: readonly AnyPlugin[],
  options: { region?: string; accountId?: string; partition?: string } = {},
) {
  const region = options.region ?? '*';
  const account = options.accountId ?? '';
  const partition = options.partition ?? 'aws';
  const resources = plugins
    .filter((p) => p.action)
    .map((p) => {
      const a = p.action!;
      return `arn:${partition}:codepipeline:${region}:${account}:actionType:custom/${a.category}/${a.provider}/${a.version}/`;
    });
  if (resources.length === 0) throw new Error('none of these plugins defines a custom action');
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: [...WORKER_ACTIONS], Resource: resources }],
  };
}
