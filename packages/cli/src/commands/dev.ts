import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import { type AnyPlugin, actionTypeId } from '@pipewright/core';
import type { Command } from 'commander';
import { type CommonOptions, humanLogger, type Io, withCommon } from '../common.js';
import { CliError } from '../errors.js';
import { loadLambdaHost } from '../lambda-host.js';
import { loadPlugins } from '../load-plugins.js';
import { applyExtensions, associate } from './extension.js';
import { describeStack, startStack, untilSignal } from './local.js';
import { register } from './register.js';

interface DevOptions extends CommonOptions {
  project?: string;
  buildCommand: string;
  testCommand: string;
  exit?: boolean;
  randomPorts?: boolean;
  timeout: number;
  verbose?: boolean;
}

export const EXAMPLE_PROJECT = fileURLToPath(new URL('../../example-project', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DevResult {
  endpoints: Record<string, string | undefined>;
  pipeline: {
    name: string;
    executionId: string;
    status: string;
    actions: { stage: string; action: string; status: string; summary?: string }[];
  };
  appconfig?: {
    applicationId: string;
    extension: string;
    rejected?: string;
    version: number;
    deployment: { number: number; state: string };
  };
}

export function devCommand(program: Command, io: Io): void {
  withCommon(
    program
      .command('dev')
      .description(
        'one-command local run: start the stack, register the plugins, create an example pipeline and AppConfig application, run the worker and the Lambda host, run one execution and one deployment',
      )
      .argument('[plugin...]', 'extra plugins to register and serve (the shell plugin is always there)')
      .option('--project <dir>', 'the project the pipeline builds (default: the bundled example project)')
      .option('--build-command <cmd>', 'the Build stage command, run in the project', './build.sh')
      .option('--test-command <cmd>', 'the Test stage command, run in the build output', './test/test.sh')
      .option('--exit', 'stop after the run instead of waiting for Ctrl-C (tests and CI)')
      .option(
        '--random-ports',
        'let the system pick free ports (default: 4571-4574, or free ones when taken)',
      )
      .option('--timeout <seconds>', 'give up on the run after this long', Number, 180)
      .option('--verbose', "print every worker log line and the Lambda host's output")
      .addHelpText(
        'after',
        '\nExample:\n  pipewright dev            # leaves the stack up; Ctrl-C stops it\n  pipewright dev --exit     # CI',
      ),
    { aws: false },
  ).action(async (specs: string[], options: DevOptions) => {
    const result = await dev(specs, options, io);
    if (options.json) io.out(JSON.stringify(result, null, 2));
    const ok =
      result.pipeline.status === 'Succeeded' &&
      (!result.appconfig || result.appconfig.deployment.state === 'COMPLETE');
    if (!ok) process.exitCode = 1;
  });
}

export async function dev(specs: string[], options: DevOptions, io: Io): Promise<DevResult> {
  const say = (line = '') => {
    if (!options.json) io.out(line);
  };
  const project = resolve(io.cwd, options.project ?? EXAMPLE_PROJECT);
  if (!existsSync(project))
    throw new CliError(`project folder ${project} does not exist`, 'pass --project <dir>');
  const { shellBuild, shellTest } = await import('@pipewright/plugin-shell');
  const { localFolderSource } = await import('@pipewright/local');
  const { AppConfigClient } = await import('@aws-sdk/client-appconfig');
  const {
    CodePipelineClient,
    CreatePipelineCommand,
    GetPipelineExecutionCommand,
    ListActionExecutionsCommand,
    StartPipelineExecutionCommand,
  } = await import('@aws-sdk/client-codepipeline');
  const extra: { plugins: AnyPlugin[]; note?: string } =
    specs.length > 0 ? { plugins: await loadPlugins(specs, io.cwd) } : await currentProjectPlugins(io);
  const plugins: AnyPlugin[] = [...new Set<AnyPlugin>([shellBuild, shellTest, ...extra.plugins])];
  const started = Date.now();
  const deadline = started + options.timeout * 1000;

  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ ports: options.randomPorts ? 'random' : 'default' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    stack = await startStack({ ports: 'random' });
  }
  const workspaceDir = await mkdtemp(join(tmpdir(), 'pipewright-dev-'));
  const aws: CommonOptions = {
    region: stack.region,
    credentials: stack.credentials,
    json: options.json ?? false,
  };
  const cp = new CodePipelineClient(stack.clientConfig('codepipeline'));
  const appconfig = new AppConfigClient(stack.clientConfig('appconfig'));
  let worker: { stop(reason?: string): void; run(): Promise<unknown> } | undefined;
  let workerRun: Promise<unknown> | undefined;
  try {
    say('pipewright dev');
    say(describeStack(stack).text.split('\n').slice(1, 5).join('\n'));
    say();
    if (extra.note) say(extra.note);

    // 1. Register the plugins' action types.
    const registered = await register(
      plugins.filter((p) => p.action),
      { ...aws, endpoint: stack.endpoints.codepipeline },
      io,
    );
    for (const r of registered) {
      say(
        `✓ registered ${r.actionTypeId.category}/${r.actionTypeId.provider}/${r.actionTypeId.version} (${r.plugin})`,
      );
    }

    // 2. The example pipeline: local folder -> shell Build -> shell Test.
    const pipelineName = 'pipewright-example';
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name: pipelineName,
          roleArn: `arn:aws:iam::${stack.accountId}:role/pipewright-dev`,
          artifactStore: { type: 'S3', location: stack.artifactBucket },
          stages: [
            {
              name: 'Source',
              actions: [localFolderSource(project, { name: 'Checkout', output: 'Source' })],
            },
            {
              name: 'Build',
              actions: [
                {
                  name: 'Assemble',
                  actionTypeId: actionTypeId(shellBuild),
                  configuration: {
                    Command: options.buildCommand,
                    OutputDirectory: 'dist',
                    TimeoutSeconds: '120',
                  },
                  inputArtifacts: [{ name: 'Source' }],
                  outputArtifacts: [{ name: 'Dist' }],
                },
              ],
            },
            {
              name: 'Test',
              actions: [
                {
                  name: 'Smoke',
                  actionTypeId: actionTypeId(shellTest),
                  configuration: { Command: options.testCommand, TimeoutSeconds: '120' },
                  inputArtifacts: [{ name: 'Dist' }],
                },
              ],
            },
          ],
        },
      }),
    );
    say(`✓ created pipeline ${pipelineName}: Source (${project}) -> Build (shell) -> Test (shell)`);

    // 3. The worker, serving every registered action type until the end.
    const { createWorker } = await import('@pipewright/worker');
    const log = humanLogger(io, 'debug');
    const quiet = {
      debug: (m: string, f?: Record<string, unknown>) => options.verbose && log.debug(`[worker] ${m}`, f),
      info: (m: string, f?: Record<string, unknown>) => options.verbose && log.info(`[worker] ${m}`, f),
      warn: (m: string, f?: Record<string, unknown>) => log.warn(`[worker] ${m}`, f),
      error: (m: string, f?: Record<string, unknown>) => log.error(`[worker] ${m}`, f),
    };
    const workerLogger = { ...quiet, child: () => workerLogger } as unknown as Parameters<
      typeof createWorker
    >[0]['logger'];
    worker = createWorker({
      plugins: plugins.filter((p) => p.action),
      region: stack.region,
      endpoint: stack.endpoints.codepipeline,
      s3Endpoint: stack.endpoints.s3,
      credentials: stack.credentials,
      mode: 'serve',
      concurrency: 2,
      pollIntervalMs: 200,
      workspaceDir,
      ...(workerLogger ? { logger: workerLogger } : {}),
    });
    workerRun = worker.run();
    say('✓ worker serving (mode serve)');

    // 4. AppConfig: the json-schema extension in the local Lambda host, an application, one deployment.
    const appconfigResult = await runAppConfig(project, stack, aws, appconfig, say, io, deadline).catch(
      (error: Error) => {
        if (error instanceof CliError && /Lambda host/.test(error.message)) {
          say(`! skipped AppConfig: ${error.message}`);
          return undefined;
        }
        throw error;
      },
    );

    // 5. One pipeline execution, streamed.
    const { pipelineExecutionId } = await cp.send(new StartPipelineExecutionCommand({ name: pipelineName }));
    say(`… started pipeline execution ${pipelineExecutionId}`);
    const seen = new Map<string, string>();
    const actions: DevResult['pipeline']['actions'] = [];
    let status = 'InProgress';
    while (status === 'InProgress') {
      if (Date.now() > deadline)
        throw new CliError(
          `the pipeline did not finish within ${options.timeout} s`,
          'run with --verbose to see the worker, or raise --timeout',
        );
      await sleep(200);
      // The status first: the action list read after it is final once the execution is.
      const out = await cp.send(
        new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: pipelineExecutionId! }),
      );
      status = out.pipelineExecution?.status ?? 'Unknown';
      const { actionExecutionDetails = [] } = await cp.send(
        new ListActionExecutionsCommand({
          pipelineName,
          filter: { pipelineExecutionId: pipelineExecutionId! },
        }),
      );
      for (const a of [...actionExecutionDetails].reverse()) {
        const key = `${a.stageName}/${a.actionName}`;
        if (seen.get(key) === a.status) continue;
        seen.set(key, a.status!);
        const summary = a.output?.executionResult?.externalExecutionSummary;
        say(`  ${a.status === 'Succeeded' ? '✓' : a.status === 'Failed' ? '✗' : '…'} ${key} ${a.status}`);
        if (a.status !== 'InProgress') {
          if (summary)
            say(
              summary
                .trim()
                .split('\n')
                .map((l) => `      ${l}`)
                .join('\n'),
            );
          actions.push({
            stage: a.stageName!,
            action: a.actionName!,
            status: a.status!,
            ...(summary ? { summary } : {}),
          });
        }
      }
    }
    say(`${status === 'Succeeded' ? '✓' : '✗'} pipeline execution ${status}`);

    const result: DevResult = {
      endpoints: { ...stack.endpoints },
      pipeline: { name: pipelineName, executionId: pipelineExecutionId!, status, actions },
      ...(appconfigResult ? { appconfig: appconfigResult } : {}),
    };
    say(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (!options.exit) {
      say();
      say(describeStack(stack).text);
      say('\nThe worker keeps serving: start the pipeline again with');
      say(`  aws codepipeline start-pipeline-execution --name ${pipelineName}`);
      say('Press Ctrl-C to stop.');
      await untilSignal();
      say('stopping');
    }
    return result;
  } finally {
    worker?.stop('pipewright dev is stopping');
    await workerRun?.catch(() => undefined);
    cp.destroy();
    appconfig.destroy();
    await stack.stop();
    await rm(workspaceDir, { recursive: true, force: true });
  }
}

async function runAppConfig(
  project: string,
  stack: Awaited<ReturnType<typeof startStack>>,
  aws: CommonOptions,
  client: AppConfigClient,
  say: (line?: string) => void,
  io: Io,
  deadline: number,
): Promise<DevResult['appconfig'] | undefined> {
  const {
    CreateApplicationCommand,
    CreateConfigurationProfileCommand,
    CreateDeploymentStrategyCommand,
    CreateEnvironmentCommand,
    CreateHostedConfigurationVersionCommand,
    GetDeploymentCommand,
    StartDeploymentCommand,
  } = await import('@aws-sdk/client-appconfig');
  const settingsFile = join(project, 'config', 'settings.json');
  const schemaFile = join(project, 'config', 'settings.schema.json');
  if (!existsSync(settingsFile) || !existsSync(schemaFile)) {
    say('! skipped AppConfig: the project has no config/settings.json and config/settings.schema.json');
    return undefined;
  }
  const settings = await readFile(settingsFile, 'utf8');
  const schema = JSON.stringify(JSON.parse(await readFile(schemaFile, 'utf8')));
  const local = {
    ...aws,
    endpoint: stack.endpoints.appconfig,
    lambdaEndpoint: stack.endpoints.lambda,
    functionName: 'pipewright',
  };
  // The json-schema plugin as the Lambda host bundles it.
  const host = await loadLambdaHost();
  const jsonSchema = host.module.bundledPlugins.find((p) => host.module.shortName(p) === 'json-schema');
  if (!jsonSchema)
    throw new CliError('the Lambda host does not bundle json-schema', 'rebuild the Lambda host');
  const [deployed] = await applyExtensions([jsonSchema], local, io);
  say(
    `✓ deployed extension ${deployed!.extension.name} to the local Lambda host (${deployed!.functionName})`,
  );

  const app = await client.send(new CreateApplicationCommand({ Name: 'pipewright-example' }));
  const env = await client.send(new CreateEnvironmentCommand({ ApplicationId: app.Id!, Name: 'dev' }));
  const profile = await client.send(
    new CreateConfigurationProfileCommand({
      ApplicationId: app.Id!,
      Name: 'settings',
      LocationUri: 'hosted',
      Type: 'AWS.Freeform',
    }),
  );
  const strategy = await client.send(
    new CreateDeploymentStrategyCommand({
      Name: 'pipewright-dev-instant',
      DeploymentDurationInMinutes: 0,
      FinalBakeTimeInMinutes: 0,
      GrowthFactor: 100,
      GrowthType: 'LINEAR',
      ReplicateTo: 'NONE',
    }),
  );
  await associate(
    deployed!.extension.id,
    { ...local, application: app.Id!, param: [`Schema=${schema}`] },
    io,
  );
  say(
    `✓ created application pipewright-example (${app.Id}) with environment dev and profile settings; extension associated`,
  );

  // A broken copy first, to show what the extension does with one.
  let rejected: string | undefined;
  try {
    await client.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: app.Id!,
        ConfigurationProfileId: profile.Id!,
        Content: new TextEncoder().encode(JSON.stringify({ greeting: '', port: 'eighty' })),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    rejected = (error as Error).message;
    say(`✓ a broken settings.json was refused by the extension: ${rejected.split('\n')[0]}`);
  }
  if (rejected === undefined) say('! the broken settings.json was accepted: is the extension associated?');

  const version = await client.send(
    new CreateHostedConfigurationVersionCommand({
      ApplicationId: app.Id!,
      ConfigurationProfileId: profile.Id!,
      Content: new TextEncoder().encode(settings),
      ContentType: 'application/json',
    }),
  );
  say(`✓ stored config/settings.json as hosted version ${version.VersionNumber}`);
  const deployment = await client.send(
    new StartDeploymentCommand({
      ApplicationId: app.Id!,
      EnvironmentId: env.Id!,
      ConfigurationProfileId: profile.Id!,
      ConfigurationVersion: String(version.VersionNumber),
      DeploymentStrategyId: strategy.Id!,
      Description: 'pipewright dev',
    }),
  );
  say(`… started deployment ${deployment.DeploymentNumber}`);
  let state = deployment.State ?? 'DEPLOYING';
  let shown = 0;
  while (!['COMPLETE', 'ROLLED_BACK', 'REVERTED'].includes(state)) {
    if (Date.now() > deadline)
      throw new CliError('the AppConfig deployment did not finish in time', 'raise --timeout');
    await sleep(200);
    const d = await client.send(
      new GetDeploymentCommand({
        ApplicationId: app.Id!,
        EnvironmentId: env.Id!,
        DeploymentNumber: deployment.DeploymentNumber!,
      }),
    );
    state = d.State ?? state;
    const events = [...(d.EventLog ?? [])].reverse();
    for (const e of events.slice(shown)) say(`  · ${e.Description ?? e.EventType}`);
    shown = events.length;
  }
  say(`${state === 'COMPLETE' ? '✓' : '✗'} deployment ${deployment.DeploymentNumber} ${state}`);
  return {
    applicationId: app.Id!,
    extension: deployed!.extension.name,
    ...(rejected ? { rejected } : {}),
    version: version.VersionNumber!,
    deployment: { number: deployment.DeploymentNumber!, state },
  };
}

/**
 * The plugins of the project in the current folder: a package with the `pipewright-plugin` keyword (what
 * `pipewright init plugin` writes), loaded by its own name. A plugin that is not built yet is skipped with a note.
 */
async function currentProjectPlugins(io: Io): Promise<{ plugins: AnyPlugin[]; note?: string }> {
  const file = join(io.cwd, 'package.json');
  if (!existsSync(file)) return { plugins: [] };
  const pkg = JSON.parse(await readFile(file, 'utf8')) as { name?: string; keywords?: string[] };
  if (!pkg.name || !pkg.keywords?.includes('pipewright-plugin')) return { plugins: [] };
  try {
    const plugins = await loadPlugins([pkg.name], io.cwd);
    return {
      plugins,
      note: plugins.map((p) => `✓ found plugin ${p.name} in the current project`).join('\n'),
    };
  } catch (error) {
    return {
      plugins: [],
      note: `! the current project's plugin ${pkg.name} did not load (${(error as Error).message}); build it first`,
    };
  }
}
