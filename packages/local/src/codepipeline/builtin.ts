import type { ActionType } from './model.js';

/**
 * Action types the local stack runs itself. Only source actions: everything else in a local pipeline is a
 * custom action played by a job worker, which is what pipewright tests.
 *
 * - AWS/Source/S3/1 with { S3Bucket, S3ObjectKey }: copies an existing object as the source artifact, as the
 *   real S3 source action does.
 * - ThirdParty/Source/PipewrightLocalFolder/1 with { Path }: zips a folder on this machine. The owner is
 *   ThirdParty because Custom belongs to user-registered types, and the provider name says it is local.
 */
export const S3_SOURCE: ActionType = {
  id: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
  actionConfigurationProperties: [
    { name: 'S3Bucket', required: true, key: true, secret: false, queryable: false, type: 'String' },
    { name: 'S3ObjectKey', required: true, key: true, secret: false, queryable: false, type: 'String' },
    {
      name: 'PollForSourceChanges',
      required: false,
      key: false,
      secret: false,
      queryable: false,
      type: 'Boolean',
    },
  ],
  inputArtifactDetails: { minimumCount: 0, maximumCount: 0 },
  outputArtifactDetails: { minimumCount: 1, maximumCount: 1 },
};

export const LOCAL_FOLDER_SOURCE: ActionType = {
  id: { category: 'Source', owner: 'ThirdParty', provider: 'PipewrightLocalFolder', version: '1' },
  settings: {
    thirdPartyConfigurationUrl: 'https://github.com/pipewright/pipewright/tree/main/packages/local',
  },
  actionConfigurationProperties: [
    {
      name: 'Path',
      required: true,
      key: true,
      secret: false,
      queryable: false,
      description: 'Absolute path of the folder to package as the source artifact',
      type: 'String',
    },
  ],
  inputArtifactDetails: { minimumCount: 0, maximumCount: 0 },
  outputArtifactDetails: { minimumCount: 1, maximumCount: 1 },
};

export const BUILTIN_TYPES: ActionType[] = [S3_SOURCE, LOCAL_FOLDER_SOURCE];
