import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AnyPlugin } from '@pipewright/core';
import { type CommonOptions, clientConfig, type Io, step } from './common.js';
import { CliError, UsageError } from './errors.js';
import { type LambdaHost, lambdaZip } from './lambda-host.js';

export interface CloudFormationDeployOptions extends CommonOptions {
  stackName: string;
  codeBucket?: string;
  codeKey?: string;
  functionName: string;
  backupBucket?: string;
  associateWith?: string;
  /** Seconds between status polls. */
  pollSeconds?: number;
}

export interface StackResult {
  stackName: string;
  stackId: string | undefined;
  status: string;
  change: 'created' | 'updated' | 'unchanged';
  codeS3Uri: string;
  outputs: Record<string, string>;
}

const DONE = /_COMPLETE$|_FAILED$/;
const GOOD = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE']);

/**
 * Deploys the Lambda host through CloudFormation: uploads the package to S3, then creates or updates the
 * stack with the template the host generates, and waits, printing each resource event.
 */
export async function deployStack(
  host: LambdaHost,
  plugins: readonly AnyPlugin[],
  options: CloudFormationDeployOptions,
  io: Io,
): Promise<StackResult> {
  if (!options.codeBucket) {
    throw new UsageError(
      '--apply through CloudFormation needs --code-bucket, where the Lambda package is uploaded',
      "pass --code-bucket <bucket> (in the stack's Region)",
    );
  }
  const cfn = await import('@aws-sdk/client-cloudformation');
  const s3 = await import('@aws-sdk/client-s3');
  const config = clientConfig(options, io.env);
  const built = await step(io, options, 'building the Lambda host', () => lambdaZip(host, plugins));
  let codeKey: string;
  try {
    const zip = await readFile(built.zipPath);
    codeKey =
      options.codeKey ??
      `pipewright/lambda-${createHash('sha256').update(zip).digest('hex').slice(0, 16)}.zip`;
    const s3Client = new s3.S3Client({ ...config, endpoint: io.env.AWS_ENDPOINT_URL_S3 ?? undefined });
    try {
      await step(io, options, `uploading the package to s3://${options.codeBucket}/${codeKey}`, () =>
        s3Client.send(
          new s3.PutObjectCommand({
            Bucket: options.codeBucket,
            Key: codeKey,
            Body: zip,
            ContentType: 'application/zip',
          }),
        ),
      );
    } finally {
      s3Client.destroy();
    }
  } finally {
    await built.cleanup();
  }
  const template = host.module.cloudFormationTemplate({
    plugins,
    functionName: options.functionName,
    codeS3Bucket: options.codeBucket,
    codeS3Key: codeKey,
    ...(options.backupBucket ? { backupBucket: options.backupBucket } : {}),
    ...(options.associateWith ? { associateWith: options.associateWith } : {}),
  });
  const open = Object.keys((template.Parameters as Record<string, unknown> | undefined) ?? {});
  if (open.length > 0) {
    throw new UsageError(
      `the template still needs ${open.join(', ')}`,
      open.includes('BackupBucketName')
        ? 'pass --backup-bucket <bucket> for s3-backup'
        : 'pass the matching option',
    );
  }
  const client = new cfn.CloudFormationClient(config);
  try {
    const exists = await client
      .send(new cfn.DescribeStacksCommand({ StackName: options.stackName }))
      .then((r) => r.Stacks?.[0])
      .catch((error: Error) => {
        if (/does not exist/.test(error.message)) return undefined;
        throw error;
      });
    const body = {
      StackName: options.stackName,
      TemplateBody: JSON.stringify(template),
      Capabilities: ['CAPABILITY_IAM' as const, 'CAPABILITY_NAMED_IAM' as const],
    };
    const since = new Date();
    let change: StackResult['change'];
    if (exists && exists.StackStatus !== 'REVIEW_IN_PROGRESS') {
      try {
        await client.send(new cfn.UpdateStackCommand(body));
        change = 'updated';
      } catch (error) {
        if (!/No updates are to be performed/.test((error as Error).message)) throw error;
        change = 'unchanged';
      }
    } else {
      await client.send(new cfn.CreateStackCommand({ ...body, OnFailure: 'ROLLBACK' }));
      change = 'created';
    }
    let stack = exists;
    const seen = new Set<string>();
    if (change !== 'unchanged') {
      for (;;) {
        await new Promise((r) => setTimeout(r, (options.pollSeconds ?? 5) * 1000));
        const events =
          (await client.send(new cfn.DescribeStackEventsCommand({ StackName: options.stackName })))
            .StackEvents ?? [];
        for (const e of events
          .filter((x) => x.Timestamp && x.Timestamp >= since && !seen.has(x.EventId!))
          .reverse()) {
          seen.add(e.EventId!);
          if (!options.json)
            io.err(
              `  ${e.LogicalResourceId} ${e.ResourceStatus}${e.ResourceStatusReason ? `: ${e.ResourceStatusReason}` : ''}`,
            );
        }
        stack = (await client.send(new cfn.DescribeStacksCommand({ StackName: options.stackName })))
          .Stacks?.[0];
        if (stack?.StackStatus && DONE.test(stack.StackStatus) && !stack.StackStatus.endsWith('_IN_PROGRESS'))
          break;
      }
      if (!GOOD.has(stack?.StackStatus ?? '')) {
        const events =
          (await client.send(new cfn.DescribeStackEventsCommand({ StackName: options.stackName })))
            .StackEvents ?? [];
        const cause = events
          .reverse()
          .find((e) => e.ResourceStatus?.endsWith('_FAILED') && e.Timestamp && e.Timestamp >= since);
        throw new CliError(
          `stack ${options.stackName} ended ${stack?.StackStatus}${cause ? `: ${cause.LogicalResourceId}: ${cause.ResourceStatusReason}` : ''}`,
          'see the stack events in the CloudFormation console; fix the cause and run again',
        );
      }
    }
    return {
      stackName: options.stackName,
      stackId: stack?.StackId,
      status: stack?.StackStatus ?? 'UNKNOWN',
      change,
      codeS3Uri: `s3://${options.codeBucket}/${codeKey}`,
      outputs: Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!])),
    };
  } finally {
    client.destroy();
  }
}
