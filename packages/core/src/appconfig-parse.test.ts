import { describe, expect, it } from 'vitest';
import { EventParseError, parseAppConfigEvent } from './appconfig-parse.js';

// The sample payloads of the AppConfig reference, inconsistencies included.
const preCreate = {
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
const preStart = {
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
const tick = {
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
const onStart = {
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
const eventBridge = {
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
const snsMessage = {
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

describe('parseAppConfigEvent', () => {
  it('parses PRE_CREATE_HOSTED_CONFIGURATION_VERSION with its previous content', () => {
    const event = parseAppConfigEvent(preCreate);
    expect(event.actionPoint).toBe('PRE_CREATE_HOSTED_CONFIGURATION_VERSION');
    if (event.actionPoint !== 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION') return;
    expect(event.content.text()).toBe('Hello world!');
    expect(event.content.version).toBe('2');
    expect(event.previousContent?.text()).toBe('Hello world');
    expect(event.description).toBeUndefined();
    expect(event.parameters).toEqual({ ParameterOne: 'ValueOne' });
  });

  it('parses PRE_START_DEPLOYMENT', () => {
    const event = parseAppConfigEvent(preStart);
    expect(event).toMatchObject({
      actionPoint: 'PRE_START_DEPLOYMENT',
      deploymentNumber: 2,
      environment: { id: 'ibpnqlq', name: 'EnvironmentName' },
      description: 'Deployment description',
    });
  });

  it('recognises the tick despite its documented Type of OnDeploymentStart', () => {
    const event = parseAppConfigEvent(tick);
    expect(event).toMatchObject({
      actionPoint: 'AT_DEPLOYMENT_TICK',
      deploymentState: 'DEPLOYING',
      percentageComplete: 0,
    });
    expect(parseAppConfigEvent({ ...tick, Type: 'AtDeploymentTick' }).actionPoint).toBe('AT_DEPLOYMENT_TICK');
  });

  it('parses ON_* events where Application has no Name', () => {
    const event = parseAppConfigEvent(onStart);
    expect(event).toMatchObject({
      actionPoint: 'ON_DEPLOYMENT_START',
      application: { id: 'abcd123', name: undefined },
    });
  });

  it('unwraps the EventBridge envelope', () => {
    expect(parseAppConfigEvent(eventBridge)).toMatchObject({
      actionPoint: 'ON_DEPLOYMENT_COMPLETE',
      deploymentNumber: 1,
    });
  });

  it('accepts DeploymentNumber as a string and a null Description (SNS and SQS samples)', () => {
    expect(parseAppConfigEvent(snsMessage)).toMatchObject({ deploymentNumber: 3, description: undefined });
    const envelope = { Type: 'Notification', Message: JSON.stringify(snsMessage) };
    expect(parseAppConfigEvent(envelope).actionPoint).toBe('ON_DEPLOYMENT_COMPLETE');
  });

  it.each([
    [
      'an unknown Type',
      { ...onStart, Type: 'OnSomethingElse' },
      /unknown Type "OnSomethingElse"; expected one of/,
    ],
    ['a missing Type', { ...onStart, Type: undefined }, /Type is missing/],
    ['invalid base64 content', { ...preStart, Content: 'not base64!' }, /Content is not valid base64/],
    ['a missing Content', { ...preStart, Content: undefined }, /Content must be a base64 string/],
    ['a missing Application', { ...onStart, Application: undefined }, /Application is missing/],
    [
      'a non-numeric DeploymentNumber',
      { ...onStart, DeploymentNumber: 'two' },
      /DeploymentNumber must be a number/,
    ],
    ['a non-object event', 'hello', /must be a JSON object/],
  ])('rejects %s with a clear message', (_label, raw, message) => {
    expect(() => parseAppConfigEvent(raw)).toThrow(EventParseError);
    expect(() => parseAppConfigEvent(raw)).toThrow(message);
  });
});
