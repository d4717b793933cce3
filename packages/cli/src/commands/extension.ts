import { readFile, writeFile } from 'node:fs/promises';
import { type AnyPlugin, createExtensionInput } from '@pipewright/core';
import type { Command } from 'commander';
import {
  type CommonOptions,
  clientConfig,
  collect,
  type Io,
  keyValues,
  step,
  withCommon,
} from '../common.js';
import { CliError, UsageError } from '../errors.js';
import { lambdaZip, loadLambdaHost } from '../lambda-host.js';
import { loadPlugins } from '../load-plugins.js';

interface DeployOptions extends CommonOptions {
  lambdaArn?: string;
  apply?: boolean;
  direct?: boolean;
  stackName?: string;
  lambdaEndpoint?: string;
  functionName: string;
  functionRoleArn?: string;
  extensionRoleArn?: string;
  codeBucket?: string;
  codeKey?: string;
  backupBucket?: string;
  associateWith?: string;
  zip?: string;
}

export interface DeployedExtension {
  plugin: string;
  functionName: string;
  functionArn: string;
  extension: { id: string; arn: string; name: string; versionNumber: number };
  status: 'created' | 'updated' | 'unchanged';
}

function withExtensions(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const found = plugins.filter((p) => p.extension);
  if (found.length === 0) {
    throw new CliError(
      `${plugins.map((p) => p.name).join(', ')} defines no AppConfig extension`,
      'only plugins with an `extension` deploy to the Lambda host; custom actions run in `pipewright worker`',
    );
  }
  return found;
}

const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}

type ActionsLike = Record<
  string,
  { Name?: string; Uri?: string; RoleArn?: string; Description?: string }[] | undefined
>;
const normalActions = (a: ActionsLike | undefined) =>
  Object.fromEntries(
    Object.entries(a ?? {}).map(([point, list]) => [
      point,
      (list ?? []).map((x) => ({
        Name: x.Name,
        Uri: x.Uri,
        RoleArn: x.RoleArn ?? '',
        Description: x.Description ?? '',
      })),
    ]),
  );
type ParamsLike = Record<string, { Required?: boolean; Description?: string; Dynamic?: boolean }>;
const normalParams = (p: ParamsLike | undefined) =>
  Object.fromEntries(
    Object.entries(p ?? {}).map(([k, v]) => [
      k,
      { Required: Boolean(v.Required), Description: v.Description ?? '', Dynamic: Boolean(v.Dynamic) },
    ]),
  );

/** Plugins by spec; the Lambda host's bundled plugins also by their short names (s3-backup, json-schema). */
export async function extensionPlugins(specs: readonly string[], io: Io): Promise<AnyPlugin[]> {
  const out: AnyPlugin[] = [];
  let host: Awaited<ReturnType<typeof loadLambdaHost>> | undefined;
  for (const spec of specs) {
    host ??= await loadLambdaHost().catch(() => undefined);
    const bundled = host?.module.bundledPlugins.find(
      (p) => p.name === spec || host?.module.shortName(p) === spec,
    );
    if (bundled) out.push(bundled);
    else out.push(...(await loadPlugins([spec], io.cwd)));
  }
  if (out.length === 0) throw new UsageError('no plugin given');
  return [...new Set(out)];
}

/** Puts the zip in Lambda (create, or replace the code) and creates or versions the extension in AppConfig. */
export async function applyExtensions(
  plugins: readonly AnyPlugin[],
  options: DeployOptions,
  io: Io,
): Promise<DeployedExtension[]> {
  const host = await loadLambdaHost();
  const lambdaSdk = await import('@aws-sdk/client-lambda');
  const { AppConfigClient, CreateExtensionCommand, GetExtensionCommand, ListExtensionsCommand } =
    await import('@aws-sdk/client-appconfig');
  const lambdaEndpoint = options.lambdaEndpoint ?? io.env.AWS_ENDPOINT_URL_LAMBDA;
  const local = Boolean(lambdaEndpoint);
  if (!local && !options.functionRoleArn) {
    throw new UsageError(
      "--direct on AWS needs --function-role-arn (the functions' execution role)",
      'or leave out --direct: CloudFormation then creates the roles too',
    );
  }
  const lambda = new lambdaSdk.LambdaClient(clientConfig({ ...options, endpoint: lambdaEndpoint }, io.env));
  const appconfig = new AppConfigClient(clientConfig(options, io.env));
  const built = await step(io, options, 'building the Lambda host', () => lambdaZip(host, plugins));
  try {
    const code = await readFile(built.zipPath);
    const results: DeployedExtension[] = [];
    for (const plugin of plugins) {
      const short = host.module.shortName(plugin);
      const functionName = `${options.functionName}-${short}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
      const variables: Record<string, string> = { PIPEWRIGHT_PLUGINS: short };
      if (options.backupBucket) variables.PIPEWRIGHT_PARAM_S3_BUCKET = options.backupBucket;
      const fn = await step(io, options, `deploying function ${functionName}`, async () => {
        const create = () =>
          lambda.send(
            new lambdaSdk.CreateFunctionCommand({
              FunctionName: functionName,
              Runtime: 'nodejs22.x',
              Handler: 'index.handler',
              Role: options.functionRoleArn ?? 'arn:aws:iam::000000000000:role/pipewright-local',
              Code: { ZipFile: code },
              Timeout: 10,
              MemorySize: 256,
              Architectures: ['arm64'],
              Environment: { Variables: variables },
            }),
          );
        try {
          return await create();
        } catch (error) {
          if ((error as Error).name !== 'ResourceConflictException') throw error;
          // The function exists: new code, then the settings, each once Lambda has finished the last update.
          const updated = () =>
            lambdaSdk.waitUntilFunctionUpdatedV2(
              { client: lambda, maxWaitTime: 300 },
              { FunctionName: functionName },
            );
          try {
            await lambda.send(
              new lambdaSdk.UpdateFunctionCodeCommand({ FunctionName: functionName, ZipFile: code }),
            );
            await updated();
            await lambda.send(
              new lambdaSdk.UpdateFunctionConfigurationCommand({
                FunctionName: functionName,
                Environment: { Variables: variables },
                Timeout: 10,
                MemorySize: 256,
              }),
            );
            await updated();
          } catch (failure) {
            // A Lambda without the update operations (the local stack's): replace the function; its ARN stays.
            if (!/UnknownOperation/.test((failure as Error).name)) throw failure;
            await lambda.send(new lambdaSdk.DeleteFunctionCommand({ FunctionName: functionName }));
            return await create();
          }
          return (await lambda.send(new lambdaSdk.GetFunctionCommand({ FunctionName: functionName })))
            .Configuration!;
        }
      });
      const functionArn = fn.FunctionArn!;
      const account = functionArn.split(':')[4] ?? '000000000000';
      const partition = functionArn.split(':')[1] ?? 'aws';
      const roleArn =
        options.extensionRoleArn ?? `arn:${partition}:iam::${account}:role/pipewright-appconfig-extensions`;
      const input = createExtensionInput(plugin, { lambdaArn: functionArn, roleArn });
      const existing = (await appconfig.send(new ListExtensionsCommand({ Name: input.Name }))).Items?.find(
        (e) => e.Name === input.Name,
      );
      let status: DeployedExtension['status'] = 'created';
      let extension: { Id?: string; Arn?: string; Name?: string; VersionNumber?: number };
      if (existing) {
        const current = await appconfig.send(new GetExtensionCommand({ ExtensionIdentifier: existing.Id! }));
        if (
          same(normalActions(current.Actions), normalActions(input.Actions)) &&
          same(normalParams(current.Parameters), normalParams(input.Parameters))
        ) {
          status = 'unchanged';
          extension = current;
        } else {
          status = 'updated';
          extension = await appconfig.send(
            new CreateExtensionCommand({
              ...(input as object),
              LatestVersionNumber: current.VersionNumber,
            } as never),
          );
        }
      } else {
        extension = await step(io, options, `creating extension ${input.Name}`, () =>
          appconfig.send(new CreateExtensionCommand(input as never)),
        );
      }
      results.push({
        plugin: plugin.name,
        functionName,
        functionArn,
        extension: {
          id: extension.Id!,
          arn: extension.Arn!,
          name: extension.Name!,
          versionNumber: extension.VersionNumber ?? 1,
        },
        status,
      });
    }
    return results;
  } finally {
    await built.cleanup();
    lambda.destroy();
    appconfig.destroy();
  }
}

interface AssociateOptions extends CommonOptions {
  application?: string;
  environment?: string;
  profile?: string;
  resourceArn?: string;
  param?: string[];
  extensionVersion?: number;
}

/** The resource ARN an association names, built from the extension's own ARN (partition, Region, account). */
export function resourceArn(extensionArn: string, options: AssociateOptions): string {
  const given = [options.application, options.environment, options.profile, options.resourceArn].filter(
    (x) => x !== undefined,
  );
  if (given.length !== 1) {
    throw new UsageError(
      'name exactly one resource: --application <id>, --environment <app-id>/<env-id>, --profile <app-id>/<profile-id> or --resource-arn <arn>',
    );
  }
  if (options.resourceArn) return options.resourceArn;
  const [, partition, , region, account] = extensionArn.split(':');
  const base = `arn:${partition}:appconfig:${region}:${account}:application`;
  if (options.application) return `${base}/${options.application}`;
  const pair = (options.environment ?? options.profile)!;
  const [app, id, ...rest] = pair.split('/');
  if (!app || !id || rest.length > 0) {
    const flag = options.environment ? '--environment' : '--profile';
    throw new UsageError(`${flag} ${pair} is not <application-id>/<id>`, `e.g. ${flag} abc1234/def5678`);
  }
  return options.environment
    ? `${base}/${app}/environment/${id}`
    : `${base}/${app}/configurationprofile/${id}`;
}

export async function associate(extensionId: string, options: AssociateOptions, io: Io) {
  const parameters = keyValues(options.param, '--param');
  const {
    AppConfigClient,
    CreateExtensionAssociationCommand,
    GetExtensionCommand,
    ListExtensionAssociationsCommand,
    UpdateExtensionAssociationCommand,
  } = await import('@aws-sdk/client-appconfig');
  const client = new AppConfigClient(clientConfig(options, io.env));
  try {
    const extension = await client
      .send(new GetExtensionCommand({ ExtensionIdentifier: extensionId }))
      .catch((error: Error) => {
        if (error.name === 'ResourceNotFoundException') {
          throw new CliError(
            `extension ${extensionId} not found`,
            'deploy it with `pipewright extension deploy <plugin> --apply`, or check --region',
          );
        }
        throw error;
      });
    const missing = Object.entries(extension.Parameters ?? {})
      .filter(([name, p]) => p.Required && !p.Dynamic && parameters[name] === undefined)
      .map(([name]) => name);
    if (missing.length > 0) {
      throw new UsageError(
        `extension ${extension.Name} requires ${missing.join(', ')}`,
        `pass ${missing.map((m) => `--param ${m}=<value>`).join(' ')}`,
      );
    }
    const unknown = Object.keys(parameters).filter((k) => !(k in (extension.Parameters ?? {})));
    if (unknown.length > 0) {
      throw new UsageError(
        `extension ${extension.Name} has no parameter ${unknown.join(', ')}`,
        `its parameters: ${Object.keys(extension.Parameters ?? {}).join(', ') || 'none'}`,
      );
    }
    const resource = resourceArn(extension.Arn!, options);
    const existing = (
      await client.send(
        new ListExtensionAssociationsCommand({
          ResourceIdentifier: resource,
          ExtensionIdentifier: extension.Id!,
        }),
      )
    ).Items?.[0];
    if (existing) {
      const updated = await client.send(
        new UpdateExtensionAssociationCommand({
          ExtensionAssociationId: existing.Id!,
          Parameters: parameters,
        }),
      );
      return { status: 'updated' as const, association: updated, extension };
    }
    const created = await client.send(
      new CreateExtensionAssociationCommand({
        ExtensionIdentifier: extension.Id!,
        ResourceIdentifier: resource,
        ...(options.extensionVersion ? { ExtensionVersionNumber: options.extensionVersion } : {}),
        Parameters: parameters,
      }),
    );
    return { status: 'created' as const, association: created, extension };
  } finally {
    client.destroy();
  }
}

export function extensionCommand(program: Command, io: Io): void {
  const ext = program.command('extension').description('deploy and associate AppConfig extensions');
  withCommon(
    ext
      .command('deploy')
      .description(
        'build the Lambda host with these plugins; print its CloudFormation template, or --apply it',
      )
      .argument('<plugin...>', 'npm package names or module paths of plugins that define an extension')
      .option(
        '--apply',
        'create the functions (Lambda) and extensions (AppConfig) now instead of printing the template',
      )
      .option(
        '--lambda-endpoint <url>',
        'Lambda endpoint, e.g. the local stack (default: AWS_ENDPOINT_URL_LAMBDA)',
      )
      .option(
        '--function-name <prefix>',
        'function name prefix; functions are <prefix>-<plugin>',
        'pipewright',
      )
      .option('--function-role-arn <arn>', "--apply on AWS: the functions' execution role")
      .option('--extension-role-arn <arn>', 'the role AppConfig assumes to invoke the functions')
      .option(
        '--code-bucket <bucket>',
        'template: the bucket holding lambda.zip (default: a template parameter)',
      )
      .option('--code-key <key>', 'template: its key (default: a template parameter)')
      .option('--backup-bucket <bucket>', 'the bucket s3-backup writes to')
      .option(
        '--associate-with <arn>',
        'template: associate every extension with this application, environment or profile',
      )
      .option('--zip <file>', 'also write the deployment package here')
      .option(
        '--lambda-arn <arn>',
        'print the CreateExtension request for a function you deploy yourself (no Lambda host build)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  pipewright extension deploy @pipewright/plugin-s3-backup --code-bucket my-artifacts > template.json\n  pipewright extension deploy @pipewright/plugin-json-schema --apply --endpoint http://127.0.0.1:4573 --lambda-endpoint http://127.0.0.1:4574',
      ),
  ).action(async (specs: string[], options: DeployOptions) => {
    const plugins = withExtensions(await extensionPlugins(specs, io));
    for (const p of plugins) for (const w of p.warnings) io.err(`warning: ${p.name}: ${w}`);
    if (options.lambdaArn) {
      if (options.apply) throw new UsageError('--lambda-arn prints the request; it does not go with --apply');
      // What `aws appconfig create-extension --cli-input-json` takes, as in the AppConfig guide.
      const requests = plugins.map((p) =>
        createExtensionInput(p, {
          lambdaArn: options.lambdaArn!,
          ...(options.extensionRoleArn ? { roleArn: options.extensionRoleArn } : {}),
        }),
      );
      io.out(JSON.stringify(requests.length === 1 ? requests[0] : requests, null, 2));
      return;
    }
    const local = Boolean(options.lambdaEndpoint ?? io.env.AWS_ENDPOINT_URL_LAMBDA);
    if (options.apply && !local && !options.direct) {
      const { deployStack } = await import('../cloudformation.js');
      const r = await deployStack(
        await loadLambdaHost(),
        plugins,
        { ...options, stackName: options.stackName ?? 'pipewright-extensions' },
        io,
      );
      if (options.json) io.out(JSON.stringify(r, null, 2));
      else io.out(`stack ${r.stackName}: ${r.change} (${r.status}); package ${r.codeS3Uri}`);
      return;
    }
    if (options.apply) {
      const results = await applyExtensions(plugins, options, io);
      if (options.json) io.out(JSON.stringify(results, null, 2));
      else
        for (const r of results)
          io.out(
            `${r.extension.name} (${r.plugin}): ${r.status}, version ${r.extension.versionNumber}, id ${r.extension.id}, function ${r.functionArn}`,
          );
      return;
    }
    const host = await loadLambdaHost();
    if (options.zip) {
      const built = await step(io, options, 'building the Lambda host', () => lambdaZip(host, plugins));
      try {
        await writeFile(options.zip, await readFile(built.zipPath));
      } finally {
        await built.cleanup();
      }
      io.err(
        `wrote ${options.zip}: upload it to s3://${options.codeBucket ?? '<bucket>'}/${options.codeKey ?? 'lambda.zip'}`,
      );
    }
    const template = host.module.cloudFormationTemplate({
      plugins,
      functionName: options.functionName,
      ...(options.codeBucket ? { codeS3Bucket: options.codeBucket } : {}),
      ...(options.codeKey ? { codeS3Key: options.codeKey } : {}),
      ...(options.backupBucket ? { backupBucket: options.backupBucket } : {}),
      ...(options.associateWith ? { associateWith: options.associateWith } : {}),
    });
    io.out(JSON.stringify(template, null, 2));
  });

  withCommon(
    ext
      .command('associate')
      .description(
        'associate an extension with an application, environment or configuration profile (updates an existing one)',
      )
      .argument('<extension>', 'the extension name, id or ARN')
      .option('--application <id>', 'the application id')
      .option('--environment <app/env>', 'the environment, as <application-id>/<environment-id>')
      .option('--profile <app/profile>', 'the configuration profile, as <application-id>/<profile-id>')
      .option('--resource-arn <arn>', 'any of the three, by ARN')
      .option('--param <K=V>', 'an extension parameter; repeat for each', collect, [])
      .option('--extension-version <n>', 'pin a version of the extension (default: the latest)', Number)
      .addHelpText(
        'after',
        '\nExample:\n  pipewright extension associate pipewright-s3-backup --application abc1234 --param S3_BUCKET=my-config-backups',
      ),
  ).action(async (extensionId: string, options: AssociateOptions) => {
    const r = await associate(extensionId, options, io);
    if (options.json) {
      io.out(
        JSON.stringify(
          {
            status: r.status,
            association: {
              Id: r.association.Id,
              Arn: r.association.Arn,
              ResourceArn: r.association.ResourceArn,
              ExtensionArn: r.association.ExtensionArn,
              Parameters: r.association.Parameters,
            },
          },
          null,
          2,
        ),
      );
      return;
    }
    io.out(
      `${r.status} association ${r.association.Id} of ${r.extension.Name} with ${r.association.ResourceArn}`,
    );
  });
}
