import type { S3Client } from '@aws-sdk/client-s3';
import {
  definePlugin,
  type ExtensionContext,
  type Plugin,
  PluginError,
  type PreEvent,
  type PreResult,
  z,
} from '@pipewright/core';

export const PACKAGE_NAME = '@pipewright/plugin-s3-backup';
const VERSION = '0.1.0';

export const s3BackupConfig = z.object({
  S3_BUCKET: z
    .string()
    .min(3)
    .max(63)
    .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'must be an S3 bucket name')
    .optional()
    .meta({
      description:
        'The bucket the configuration is backed up to. Required unless the host supplies a default (the Lambda host reads PIPEWRIGHT_PARAM_S3_BUCKET).',
    }),
  S3_PREFIX: z
    .string()
    .max(512)
    .regex(/^[^\\]*$/, 'must not contain backslashes')
    .default('')
    .meta({ description: 'Prepended to every backup key, e.g. appconfig-backups/.' }),
});

export type S3BackupConfig = z.output<typeof s3BackupConfig>;

export interface S3BackupPluginOptions {
  /**
   * The S3 client. Default: one client per plugin, created on first use from the environment (the Lambda
   * role's credentials, `AWS_REGION`, and `AWS_ENDPOINT_URL_S3` when set).
   */
  client?: S3Client;
  /** The AppConfig extension name. Default pipewright-s3-backup. */
  extensionName?: string;
}

/** A key segment from an AppConfig id, name or version: no slashes, nothing empty. */
function segment(value: string | number | undefined, fallback: string): string {
  const text = value === undefined || value === '' ? fallback : String(value);
  return text.replace(/[/\\]/g, '_');
}

/** Where a backup goes: `<prefix><application>/<profile>/versions/<version>` or `.../deployments/<env>/<n>`. */
export function backupKey(event: PreEvent, prefix = ''): string {
  const app = segment(event.application.id, 'unknown-application');
  const profile = segment(event.configurationProfile?.id, 'unknown-profile');
  if (event.actionPoint === 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION') {
    const version = segment(event.content.version, `unversioned-${event.invocationId || Date.now()}`);
    return `${prefix}${app}/${profile}/versions/${version}`;
  }
  const env = segment(event.environment?.id, 'unknown-environment');
  const deployment = segment(event.deploymentNumber, `unnumbered-${event.invocationId || Date.now()}`);
  return `${prefix}${app}/${profile}/deployments/${env}/${deployment}`;
}

/** S3 user metadata travels in HTTP headers: ASCII only, so names are percent-encoded. */
function metadata(event: PreEvent): Record<string, string> {
  const entries: [string, string | number | undefined][] = [
    ['action-point', event.actionPoint],
    ['invocation-id', event.invocationId],
    ['application-id', event.application.id],
    ['application-name', event.application.name],
    ['configuration-profile-id', event.configurationProfile?.id],
    ['configuration-profile-name', event.configurationProfile?.name],
    ['content-version', event.content.version],
    ['description', event.description],
  ];
  if (event.actionPoint === 'PRE_START_DEPLOYMENT') {
    entries.push(
      ['environment-id', event.environment?.id],
      ['environment-name', event.environment?.name],
      ['deployment-number', event.deploymentNumber],
    );
  }
  return Object.fromEntries(
    entries
      .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
      .map(([k, v]) => [k, encodeURIComponent(String(v)).slice(0, 1024)]),
  );
}

/**
 * The seed's sample extension as a pipewright plugin: PRE_CREATE_HOSTED_CONFIGURATION_VERSION and
 * PRE_START_DEPLOYMENT copy the configuration to S3, and the content passes through unchanged.
 *
 * A backup that fails refuses the AppConfig request: a backup extension that silently loses backups is worse
 * than none. So does a missing bucket.
 */
export function s3BackupPlugin(options: S3BackupPluginOptions = {}): Plugin<typeof s3BackupConfig> {
  let client = options.client;

  async function backup(event: PreEvent, ctx: ExtensionContext<S3BackupConfig>): Promise<PreResult> {
    const bucket = ctx.params.S3_BUCKET;
    if (!bucket) {
      throw new PluginError(
        'NO_BUCKET',
        'no backup bucket: set the S3_BUCKET parameter on the extension association (or a default on the host, e.g. PIPEWRIGHT_PARAM_S3_BUCKET for the Lambda host)',
        { details: [{ type: 'MissingParameter', name: 'S3_BUCKET', reason: 'no bucket to back up to' }] },
      );
    }
    const key = backupKey(event, ctx.params.S3_PREFIX);
    const started = performance.now();
    try {
      // Loaded on first use: a function that only validates never pays for the SDK at cold start.
      const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
      client ??= new S3Client({});
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: event.content.bytes,
          ContentType: event.content.contentType ?? 'application/octet-stream',
          Metadata: metadata(event),
        }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      const name = (error as { name?: string }).name ?? 'Error';
      const message = (error as Error).message ?? String(error);
      ctx.logger.error('backup failed', { bucket, key, error: `${name}: ${message}` });
      throw new PluginError(
        'BACKUP_FAILED',
        `could not back the configuration up to s3://${bucket}/${key}: ${name}: ${message}`,
        {
          details: [{ type: 'BackupFailed', name: `s3://${bucket}/${key}`, reason: `${name}: ${message}` }],
          cause: error,
        },
      );
    }
    ctx.logger.info('configuration backed up', {
      bucket,
      key,
      bytes: event.content.bytes.byteLength,
      durationMs: Math.round(performance.now() - started),
    });
    return undefined;
  }

  return definePlugin({
    name: PACKAGE_NAME,
    version: VERSION,
    description: 'Backs AppConfig configuration up to S3 before each new version and deployment.',
    config: s3BackupConfig,
    extension: {
      name: options.extensionName ?? 'pipewright-s3-backup',
      description:
        'Backs configuration up to an S3 bucket before each new hosted version and deployment (pipewright).',
      handlers: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: backup,
        PRE_START_DEPLOYMENT: backup,
      },
      // The action names of the AppConfig User Guide's sample extension.
      actionNames: {
        PRE_CREATE_HOSTED_CONFIGURATION_VERSION: 'PreCreateHostedConfigVersionActionForS3Backup',
        PRE_START_DEPLOYMENT: 'PreStartDeploymentActionForS3Backup',
      },
    },
  });
}

/** The plugin with its default names and S3 client. */
export const s3Backup = s3BackupPlugin();

export default s3Backup;
