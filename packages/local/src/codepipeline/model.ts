/** The shapes the local CodePipeline keeps, named as in the service model so JSON goes out unchanged. */

export interface ActionTypeId {
  category: string;
  owner: string;
  provider: string;
  version: string;
}

export interface ConfigurationProperty {
  name: string;
  required: boolean;
  key: boolean;
  secret: boolean;
  queryable?: boolean;
  description?: string;
  type?: 'String' | 'Number' | 'Boolean';
}

export interface ArtifactDetails {
  minimumCount: number;
  maximumCount: number;
}

export interface ActionTypeSettings {
  thirdPartyConfigurationUrl?: string;
  entityUrlTemplate?: string;
  executionUrlTemplate?: string;
  revisionUrlTemplate?: string;
}

export interface ActionType {
  id: ActionTypeId;
  settings?: ActionTypeSettings;
  actionConfigurationProperties?: ConfigurationProperty[];
  inputArtifactDetails: ArtifactDetails;
  outputArtifactDetails: ArtifactDetails;
}

export interface Tag {
  key: string;
  value: string;
}

export interface ActionTypeRecord {
  actionType: ActionType;
  tags: Tag[];
  deleted: boolean;
}

export interface ActionDeclaration {
  name: string;
  actionTypeId: ActionTypeId;
  runOrder?: number;
  configuration?: Record<string, string>;
  inputArtifacts?: { name: string }[];
  outputArtifacts?: { name: string }[];
  roleArn?: string;
  region?: string;
  namespace?: string;
  timeoutInMinutes?: number;
}

export interface StageDeclaration {
  name: string;
  actions: ActionDeclaration[];
  [more: string]: unknown;
}

export interface ArtifactStore {
  type: 'S3';
  location: string;
  encryptionKey?: { id: string; type: 'KMS' };
}

export interface PipelineDeclaration {
  name: string;
  roleArn: string;
  artifactStore?: ArtifactStore;
  artifactStores?: Record<string, ArtifactStore>;
  stages: StageDeclaration[];
  version?: number;
  executionMode?: string;
  pipelineType?: string;
  variables?: { name: string; defaultValue?: string; description?: string }[];
  [more: string]: unknown;
}

export interface PipelineRecord {
  pipeline: PipelineDeclaration;
  created: number;
  updated: number;
  tags: Tag[];
}

export interface ArtifactRef {
  name: string;
  bucket: string;
  key: string;
  revision?: string;
}

export type ActionStatus = 'InProgress' | 'Abandoned' | 'Succeeded' | 'Failed';

export interface ActionExecutionRecord {
  actionExecutionId: string;
  pipelineExecutionId: string;
  pipelineVersion: number;
  stageName: string;
  actionName: string;
  runOrder: number;
  status: ActionStatus;
  startTime: number;
  lastUpdateTime: number;
  actionTypeId: ActionTypeId;
  configuration: Record<string, string>;
  resolvedConfiguration: Record<string, string>;
  region: string;
  namespace?: string;
  inputArtifacts: ArtifactRef[];
  outputArtifacts: ArtifactRef[];
  externalExecutionId?: string;
  summary?: string;
  percentComplete?: number;
  externalExecutionUrl?: string;
  outputVariables?: Record<string, string>;
  errorDetails?: { code: string; message: string };
}

export type ExecutionStatus =
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'Stopped'
  | 'Cancelled'
  | 'Superseded'
  | 'Stopping';

export interface ExecutionRecord {
  pipelineExecutionId: string;
  pipelineName: string;
  pipelineVersion: number;
  /** The declaration the execution runs, frozen at start so an UpdatePipeline does not change it midway. */
  pipeline: PipelineDeclaration;
  status: ExecutionStatus;
  statusSummary?: string;
  startTime: number;
  lastUpdateTime: number;
  trigger: { triggerType: string; triggerDetail?: string };
  stageIndex: number;
  stageStatus: Record<string, string>;
  artifacts: Record<string, ArtifactRef>;
  variables: Record<string, Record<string, string>>;
  actions: ActionExecutionRecord[];
}

export type JobStatus =
  | 'Created'
  | 'Queued'
  | 'Dispatched'
  | 'InProgress'
  | 'TimedOut'
  | 'Succeeded'
  | 'Failed';

export interface JobRecord {
  id: string;
  nonce: string;
  status: JobStatus;
  pipelineExecutionId: string;
  actionExecutionId: string;
  actionTypeId: ActionTypeId;
  configuration: Record<string, string>;
  continuationToken?: string;
  createdAt: number;
  dispatchedAt?: number;
  acknowledgedAt?: number;
  finishedAt?: number;
}

export interface CodePipelineState {
  actionTypes: ActionTypeRecord[];
  pipelines: PipelineRecord[];
  executions: ExecutionRecord[];
  jobs: JobRecord[];
}

export const typeKey = (id: ActionTypeId) => `${id.owner}/${id.category}/${id.provider}/${id.version}`;
