// The two samples of the AWS guides pipewright was made from, as plugin definitions.
import { definePlugin, z } from '@pipewright/core';

/** "Create a custom action": My-Build-Provider-Name with one ProjectName property. */
export const myBuild = definePlugin({
  name: 'my-build',
  version: '1.0.0',
  description: 'The custom build action of the CodePipeline guide.',
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
    outputArtifacts: { minimum: 0, maximum: 1 },
    tags: { Project: 'ProjectA' },
    run() {},
  },
});

/** "Creating a custom AWS AppConfig extension": MySampleExtension. */
export const mySample = definePlugin({
  name: 'my-sample',
  version: '1.0.0',
  description: 'The sample extension of the AppConfig guide.',
  config: z.object({ S3_BUCKET: z.string().optional() }),
  extension: {
    name: 'MySampleExtension',
    description: 'A sample extension that backs up configurations to an S3 bucket.',
    handlers: { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: () => undefined },
    actionNames: { PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigVersionActionForS3Backup' },
  },
});
