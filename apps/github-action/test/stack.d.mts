import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { AnyPlugin } from '@pipewright/core';
import type { LocalStack } from '@pipewright/local';

type StackLike = Pick<LocalStack, 'endpoints' | 'region' | 'credentials' | 'accountId' | 'artifactBucket'>;

export function codepipelineClient(stack: StackLike): CodePipelineClient;

export function startPipeline(
  stack: StackLike,
  options?: {
    name?: string;
    jobs?: number;
    actions?: { name: string; plugin?: AnyPlugin; configuration: Record<string, string> }[];
  },
): Promise<{ name: string; executionId: string; folder: string }>;

export function waitForExecution(
  stack: StackLike,
  name: string,
  executionId: string,
  timeoutMs?: number,
): Promise<{
  status: string | undefined;
  actions: import('@aws-sdk/client-codepipeline').ActionExecutionDetail[];
}>;
