import type { ActionDeclaration, ActionTypeId } from '@aws-sdk/client-codepipeline';
import { LOCAL_FOLDER_SOURCE } from './codepipeline/builtin.js';

/**
 * The declaration of the local folder source action, for the first stage of a local pipeline: the stack zips
 * `path` (keeping modes and symlinks) as the artifact named `output`.
 */
export function localFolderSource(
  path: string,
  options: { output?: string; name?: string } = {},
): ActionDeclaration {
  return {
    name: options.name ?? 'Source',
    actionTypeId: { ...LOCAL_FOLDER_SOURCE.id } as ActionTypeId,
    configuration: { Path: path },
    outputArtifacts: [{ name: options.output ?? 'SourceOutput' }],
  };
}
