import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCustomActionTypeInput, createExtensionInput, workerPolicy } from './generate.js';
import { definePlugin } from './plugin.js';

// The samples of the two documents pipewright was created from, reproduced from plugin definitions.
const seedAction = definePlugin({
  name: 'my-build-provider',
  version: '1.0.0',
  description: 'The CodePipeline User Guide sample custom action.',
  config: z.object({
    ProjectName: z.string().meta({
      description:
        'The name of the build project must be provided when this action is added to the pipeline.',
    }),
  }),
  action: {
    category: 'Build',
    provider: 'My-Build-Provider-Name',
    version: '1',
    settings: {
      entityUrlTemplate: 'https://my-build-instance/job/{Config:ProjectName}/',
      executionUrlTemplate:
        'https://my-build-instance/job/{Config:ProjectName}/lastSuccessfulBuild/{ExternalExecutionId}/',
    },
    inputArtifacts: { minimum: 1, maximum: 1 },
    outputArtifacts: { minimum: 0, maximum: 0 },
    tags: { Project: 'ProjectA' },
    run: () => {},
  },
});

const seedExtension = definePlugin({
  name: 'my-sample-extension',
  version: '1.0.0',
  description: 'The AppConfig User Guide sample extension.',
  config: z.object({ S3_BUCKET: z.string().optional() }),
  extension: {
    name: 'MySampleExtension',
    description: 'A sample extension that backs up configurations to an S3 bucket.',
    handlers: { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: () => {} },
    actionNames: { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigVersionActionForS3Backup' },
  },
});

describe('seed documents', () => {
  it('produces the CodePipeline sample custom action type exactly', () => {
    expect(createCustomActionTypeInput(seedAction)).toStrictEqual({
      category: 'Build',
      provider: 'My-Build-Provider-Name',
      version: '1',
      settings: {
        entityUrlTemplate: 'https://my-build-instance/job/{Config:ProjectName}/',
        executionUrlTemplate:
          'https://my-build-instance/job/{Config:ProjectName}/lastSuccessfulBuild/{ExternalExecutionId}/',
      },
      configurationProperties: [
        {
          name: 'ProjectName',
          required: true,
          key: true,
          secret: false,
          queryable: false,
          description:
            'The name of the build project must be provided when this action is added to the pipeline.',
          type: 'String',
        },
      ],
      inputArtifactDetails: { maximumCount: 1, minimumCount: 1 },
      outputArtifactDetails: { maximumCount: 0, minimumCount: 0 },
      tags: [{ key: 'Project', value: 'ProjectA' }],
    });
  });

  it('produces the AppConfig sample extension exactly', () => {
    const input = createExtensionInput(seedExtension, {
      lambdaArn: 'arn:aws:lambda:aws-region:111122223333:function:MyS3ConfigurationBackUpExtension',
      roleArn: 'arn:aws:iam::111122223333:role/ExtensionsTestRole',
    });
    expect(input).toStrictEqual({
      Name: 'MySampleExtension',
      Description: 'A sample extension that backs up configurations to an S3 bucket.',
      Actions: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: [
          {
            Name: 'PreCreateHostedConfigVersionActionForS3Backup',
            Uri: 'arn:aws:lambda:aws-region:111122223333:function:MyS3ConfigurationBackUpExtension',
            RoleArn: 'arn:aws:iam::111122223333:role/ExtensionsTestRole',
          },
        ],
      },
      Parameters: { S3_BUCKET: { Required: false } },
    });
  });

  it('produces the worker policy of the seed, scoped to the action type', () => {
    expect(workerPolicy([seedAction], { region: 'us-east-2' })).toStrictEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'codepipeline:PollForJobs',
            'codepipeline:AcknowledgeJob',
            'codepipeline:GetJobDetails',
            'codepipeline:PutJobSuccessResult',
            'codepipeline:PutJobFailureResult',
          ],
          Resource: ['arn:aws:codepipeline:us-east-2::actionType:custom/Build/My-Build-Provider-Name/1/'],
        },
      ],
    });
  });

  it('refuses to generate what a plugin does not define', () => {
    expect(() => createCustomActionTypeInput(seedExtension)).toThrow(/defines no custom action/);
    expect(() => createExtensionInput(seedAction, { lambdaArn: 'x' })).toThrow(/defines no extension/);
    expect(() => workerPolicy([seedExtension])).toThrow(/defines a custom action/);
  });
});
