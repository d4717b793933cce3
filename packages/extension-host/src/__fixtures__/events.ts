// Every sample payload of the AppConfig reference (appconfig.md sections 2, 4 and 9), inconsistencies included.

const b64 = (s: string) => Buffer.from(s).toString('base64');

export const preCreate = {
  InvocationId: 'vlns753',
  Parameters: { ParameterOne: 'ValueOne' },
  ContentType: 'text/plain',
  ContentVersion: '2',
  Content: 'SGVsbG8gd29ybGQh',
  Application: { Id: 'abcd123', Name: 'ApplicationName' },
  ConfigurationProfile: { Id: 'ijkl789', Name: 'ConfigurationName' },
  Description: '',
  Type: 'PreCreateHostedConfigurationVersion',
  PreviousContent: { ContentType: 'text/plain', ContentVersion: '1', Content: 'SGVsbG8gd29ybGQ=' },
};

export const preStart = {
  InvocationId: '765ahdm',
  Parameters: { S3_BUCKET: 'my-backups' },
  ContentType: 'text/plain',
  ContentVersion: '2',
  Content: 'SGVsbG8gd29ybGQh',
  Application: { Id: 'abcd123', Name: 'ApplicationName' },
  Environment: { Id: 'ibpnqlq', Name: 'EnvironmentName' },
  ConfigurationProfile: { Id: 'ijkl789', Name: 'ConfigurationName' },
  DeploymentNumber: 2,
  Description: 'Deployment description',
  Type: 'PreStartDeployment',
};

/** The documented tick, with its copy-pasted `Type`. */
export const tickDocumented = {
  InvocationId: 'o2xbtm7',
  Parameters: { MONITOR_IDS: '123,456' },
  Type: 'OnDeploymentStart',
  Application: { Id: 'abcd123' },
  Environment: { Id: 'efgh456' },
  ConfigurationProfile: { Id: 'ijkl789', Name: 'ConfigurationName' },
  DeploymentNumber: 2,
  Description: 'Deployment description',
  ConfigurationVersion: '2',
  DeploymentState: 'DEPLOYING',
  PercentageComplete: '0.0',
};

/** The tick as emulators send it. */
export const tickEmulator = { ...tickDocumented, Type: 'AtDeploymentTick', DeploymentNumber: '2' };

export const onStart = {
  InvocationId: 'o2xbtm7',
  Parameters: { ParameterOne: 'ValueOne' },
  Type: 'OnDeploymentStart',
  Application: { Id: 'abcd123' },
  Environment: { Id: 'efgh456' },
  ConfigurationProfile: { Id: 'ijkl789', Name: 'ConfigurationName' },
  DeploymentNumber: 2,
  Description: 'Deployment description',
  ConfigurationVersion: '2',
};

export const eventBridge = {
  version: '0',
  id: 'c53dbd72-c1a0-2302-9ed6-c076e9128277',
  'detail-type': 'On Deployment Complete',
  source: 'aws.appconfig',
  account: '111122223333',
  time: '2022-07-09T01:44:15Z',
  region: 'us-east-1',
  resources: ['arn:aws:appconfig:us-east-1:111122223333:extensionassociation/z763ff5'],
  detail: {
    InvocationId: '5tfjcig',
    Parameters: {},
    Type: 'OnDeploymentComplete',
    Application: { Id: 'ba8toh7', Name: 'MyApp' },
    Environment: { Id: 'pgil2o7', Name: 'MyEnv' },
    ConfigurationProfile: { Id: 'ga3tqep', Name: 'MyConfigProfile' },
    DeploymentNumber: 1,
    ConfigurationVersion: '1',
  },
};

/** SNS message member and SQS body (the doc's unquoted names fixed): DeploymentNumber a string, null Description. */
export const snsSqsMessage = {
  InvocationId: '7itcaxp',
  Parameters: { topicArn: 'arn:aws:sns:us-east-1:111122223333:MySNSTopic' },
  Application: { Id: '1a2b3c4d', Name: 'MyApp' },
  Environment: { Id: '1a2b3c4d', Name: 'MyEnv' },
  ConfigurationProfile: { Id: '1a2b3c4d', Name: 'MyConfigProfile' },
  Description: null,
  DeploymentNumber: '3',
  ConfigurationVersion: '1',
  Type: 'OnDeploymentComplete',
};

/** The SNS envelope: MessageAttributes disagree with the message's Type (the message wins). */
export const snsEnvelope = {
  Type: 'Notification',
  MessageId: '1',
  TopicArn: 'arn:aws:sns:us-east-1:111122223333:MySNSTopic',
  Message: JSON.stringify(snsSqsMessage),
  MessageAttributes: { MessageType: { Type: 'String', Value: 'OnDeploymentStart' } },
};

export const onStep = { ...onStart, Type: 'OnDeploymentStep' };
export const onBaking = { ...onStart, Type: 'OnDeploymentBaking' };
export const onComplete = { ...onStart, Type: 'OnDeploymentComplete' };
export const onRolledBack = { ...onStart, Type: 'OnDeploymentRolledBack' };

/** A Lambda validator event (camelCase). */
export const validator = {
  applicationId: 'abcd123',
  configurationProfileId: 'ijkl789',
  configurationVersion: '2',
  content: b64('{"port":8080}'),
  uri: 'hosted',
};

export { b64 };
