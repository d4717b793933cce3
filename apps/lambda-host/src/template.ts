import { type AnyPlugin, createExtensionInput } from '@pipewright/core';
import { bundledPlugins, shortName } from './plugins.js';

export type LambdaRuntime = 'nodejs24.x' | 'nodejs22.x';

export interface TemplateOptions {
  /** The plugins to deploy, each as its own function and extension. Default: the bundled ones. */
  plugins?: readonly AnyPlugin[];
  /** Where `dist/lambda.zip` is uploaded. Without them the template asks for CodeS3Bucket/CodeS3Key parameters. */
  codeS3Bucket?: string;
  codeS3Key?: string;
  /** Prefix of the function names. Default pipewright. Functions are `<prefix>-<plugin>`, e.g. pipewright-s3-backup. */
  functionName?: string;
  /** Default nodejs24.x. */
  runtime?: LambdaRuntime;
  /** An application, environment or configuration profile ARN to associate every extension with. */
  associateWith?: string;
  /** Association parameters per plugin (short name, package name or extension name). */
  associationParameters?: Record<string, Record<string, string>>;
  /** The backup bucket when s3-backup is deployed. Without it the template asks for a BackupBucketName parameter. */
  backupBucket?: string;
  /** Default 256. */
  memorySize?: number;
  /** Seconds. Default 10 (AppConfig's own wait is undocumented; an AWS sample says 3 s). */
  timeout?: number;
  /** Default arm64. */
  architecture?: 'arm64' | 'x86_64';
}

type Json = unknown;

/** `s3-backup` → `S3Backup`, for logical ids. */
function logicalId(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

const S3_BACKUP = '@pipewright/plugin-s3-backup';

/**
 * A CloudFormation template (JSON) deploying the Lambda host for AppConfig: per plugin a function (the same
 * code, `PIPEWRIGHT_PLUGINS` set to that plugin) and an `AWS::AppConfig::Extension` generated from the plugin's
 * definition; one execution role (with `s3:PutObject` on the backup bucket when s3-backup is deployed); one
 * AppConfig service role, trusted by appconfig.amazonaws.com for this account only, allowed to invoke the
 * functions; optionally an association of each extension with a resource.
 *
 * One function per extension, because an AppConfig invocation does not say which extension it belongs to:
 * a function serving two extensions could not tell whose parameters it received.
 */
export function cloudFormationTemplate(options: TemplateOptions = {}): Record<string, Json> {
  const plugins = [...(options.plugins ?? bundledPlugins)];
  if (plugins.length === 0) throw new Error('cloudFormationTemplate needs at least one plugin');
  for (const p of plugins) {
    if (!p.extension) throw new Error(`plugin ${p.name} defines no AppConfig extension`);
  }
  const runtime = options.runtime ?? 'nodejs24.x';
  if (runtime !== 'nodejs24.x' && runtime !== 'nodejs22.x') {
    throw new Error(`runtime ${String(runtime)} is not supported; use nodejs24.x or nodejs22.x`);
  }
  const prefix = options.functionName ?? 'pipewright';
  const hasBackup = plugins.some((p) => p.name === S3_BACKUP);

  const parameters: Record<string, Json> = {};
  const code = (given: string | undefined, name: string, description: string) => {
    if (given) return given;
    parameters[name] = { Type: 'String', MinLength: 1, Description: description };
    return { Ref: name };
  };
  const codeBucket = code(options.codeS3Bucket, 'CodeS3Bucket', 'The bucket holding lambda.zip');
  const codeKey = code(options.codeS3Key, 'CodeS3Key', 'The key of lambda.zip in CodeS3Bucket');
  const backupBucket = hasBackup
    ? code(options.backupBucket, 'BackupBucketName', 'The bucket s3-backup writes configuration backups to')
    : undefined;

  const resources: Record<string, Json> = {};
  const outputs: Record<string, Json> = {};

  const executionPolicies: Json[] = [];
  if (backupBucket !== undefined) {
    executionPolicies.push({
      PolicyName: 'BackupConfiguration',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 's3:PutObject',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
            Resource: { 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/*', { Bucket: backupBucket }] },
          },
        ],
      },
    });
  }
  resources.ExecutionRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      ManagedPolicyArns: [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' },
      ],
      ...(executionPolicies.length > 0 ? { Policies: executionPolicies } : {}),
    },
  };

  const functionIds: string[] = [];
  for (const plugin of plugins) {
    const short = shortName(plugin);
    const id = logicalId(short);
    const fnId = `${id}Function`;
    functionIds.push(fnId);
    const variables: Record<string, Json> = {
      PIPEWRIGHT_PLUGINS: short,
      POWERTOOLS_SERVICE_NAME: `${prefix}-${short}`,
    };
    if (plugin.name === S3_BACKUP && backupBucket !== undefined)
      variables.PIPEWRIGHT_PARAM_S3_BUCKET = backupBucket;
    resources[fnId] = {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: `${prefix}-${short}`.slice(0, 64),
        Description: `pipewright AppConfig extension host: ${plugin.name}`.slice(0, 256),
        Runtime: runtime,
        Handler: 'index.handler',
        Architectures: [options.architecture ?? 'arm64'],
        MemorySize: options.memorySize ?? 256,
        Timeout: options.timeout ?? 10,
        Code: { S3Bucket: codeBucket, S3Key: codeKey },
        Role: { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] },
        Environment: { Variables: variables },
        LoggingConfig: { LogFormat: 'JSON' },
      },
    };

    // Generated from the plugin's definition, then pointed at this stack's function and role.
    const input = createExtensionInput(plugin, { lambdaArn: 'LAMBDA', roleArn: 'ROLE' });
    const actions = Object.fromEntries(
      Object.entries(input.Actions).map(([point, list]) => [
        point,
        (list ?? []).map((a) => ({
          ...a,
          Uri: { 'Fn::GetAtt': [fnId, 'Arn'] },
          RoleArn: { 'Fn::GetAtt': ['AppConfigInvokeRole', 'Arn'] },
        })),
      ]),
    );
    const extId = `${id}Extension`;
    resources[extId] = {
      Type: 'AWS::AppConfig::Extension',
      Properties: {
        Name: input.Name,
        ...(input.Description ? { Description: input.Description } : {}),
        Actions: actions,
        ...(input.Parameters ? { Parameters: input.Parameters } : {}),
      },
    };
    outputs[`${id}FunctionArn`] = { Value: { 'Fn::GetAtt': [fnId, 'Arn'] } };
    outputs[`${id}ExtensionId`] = { Value: { 'Fn::GetAtt': [extId, 'Id'] } };

    if (options.associateWith) {
      const params =
        options.associationParameters?.[short] ??
        options.associationParameters?.[plugin.name] ??
        options.associationParameters?.[plugin.extension!.name];
      resources[`${id}Association`] = {
        Type: 'AWS::AppConfig::ExtensionAssociation',
        Properties: {
          ExtensionIdentifier: { 'Fn::GetAtt': [extId, 'Id'] },
          ResourceIdentifier: options.associateWith,
          ...(params && Object.keys(params).length > 0 ? { Parameters: params } : {}),
        },
      };
    }
  }

  resources.AppConfigInvokeRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'appconfig.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'InvokeExtensionFunctions',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                // InvokeFunction for PRE_* and AT_* action points, InvokeAsync for ON_* (AppConfig User Guide).
                Action: ['lambda:InvokeFunction', 'lambda:InvokeAsync'],
                Resource: functionIds.map((fnId) => ({ 'Fn::GetAtt': [fnId, 'Arn'] })),
              },
            ],
          },
        },
      ],
    },
  };
  outputs.AppConfigInvokeRoleArn = { Value: { 'Fn::GetAtt': ['AppConfigInvokeRole', 'Arn'] } };

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `pipewright AppConfig extensions: ${plugins.map(shortName).join(', ')}`,
    ...(Object.keys(parameters).length > 0 ? { Parameters: parameters } : {}),
    Resources: resources,
    Outputs: outputs,
  };
}
