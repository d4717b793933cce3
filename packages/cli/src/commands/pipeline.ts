import type { Command } from 'commander';
import {
  type CommonOptions,
  clientConfig,
  collect,
  type Io,
  keyValues,
  positiveInt,
  step,
  withCommon,
} from '../common.js';
import { CliError, UsageError } from '../errors.js';
import { defaultExports, loadPlugins, withActions } from '../load-plugins.js';
import { addAction, jsonDiff } from '../pipeline-edit.js';

interface AddActionOptions extends CommonOptions {
  stage: string;
  plugin: string;
  config?: string[];
  name?: string;
  runOrder?: number;
  input?: string[];
  output?: string[];
  namespace?: string;
  createStage?: boolean;
  before?: string;
  dryRun?: boolean;
}

export function pipelineCommand(program: Command, io: Io): void {
  const pipeline = program.command('pipeline').description('edit CodePipeline pipelines');
  withCommon(
    pipeline
      .command('add-action')
      .description(
        "add a plugin's custom action to an existing pipeline (GetPipeline, insert, UpdatePipeline)",
      )
      .argument('<pipeline>', 'the pipeline name')
      .requiredOption('--stage <name>', 'the stage to add the action to')
      .requiredOption(
        '--plugin <plugin>',
        'npm package name or module path of the plugin (module#exportName picks one)',
      )
      .option('--config <K=V>', 'a configuration property; repeat for each', collect, [])
      .option('--name <name>', "the action's name (default: the plugin's provider)")
      .option(
        '--run-order <n>',
        'runOrder in the stage (default: after the last action; equal values run in parallel)',
        positiveInt('--run-order', 999),
      )
      .option(
        '--input <artifact>',
        'an input artifact an earlier action produces; repeat for several',
        collect,
        [],
      )
      .option(
        '--output <artifact>',
        'an output artifact name, unique in the pipeline; repeat for several',
        collect,
        [],
      )
      .option('--namespace <ns>', 'variable namespace for the output variables')
      .option('--create-stage', 'create the stage when it does not exist')
      .option('--before <stage>', 'with --create-stage: put the new stage before this one (default: last)')
      .option('--dry-run', 'show the change as a diff; change nothing')
      .addHelpText(
        'after',
        '\nExample:\n  pipewright pipeline add-action MyFirstPipeline --stage MyBuildStage --create-stage --before Staging \\\n    --plugin @pipewright/plugin-shell --config Command="npm test" --input MyApp --output MyBuiltApp',
      ),
  ).action(async (pipelineName: string, options: AddActionOptions) => {
    if (options.before !== undefined && !options.createStage) {
      throw new UsageError('--before needs --create-stage', 'add --create-stage, or drop --before');
    }
    let plugins = withActions(await loadPlugins([options.plugin], io.cwd));
    // A module with several action types: its default export, when it is one of them.
    if (plugins.length > 1 && plugins.filter((p) => defaultExports.has(p)).length === 1) {
      plugins = plugins.filter((p) => defaultExports.has(p));
    }
    if (plugins.length > 1) {
      throw new UsageError(
        `${options.plugin} exports ${plugins.length} action plugins`,
        'pick one with module#exportName',
      );
    }
    const plugin = plugins[0]!;
    const { CodePipelineClient, GetPipelineCommand, UpdatePipelineCommand } = await import(
      '@aws-sdk/client-codepipeline'
    );
    const client = new CodePipelineClient(clientConfig(options, io.env));
    try {
      const current = await step(io, options, `reading pipeline ${pipelineName}`, () =>
        client.send(new GetPipelineCommand({ name: pipelineName })).catch((error: Error) => {
          if (error.name === 'PipelineNotFoundException') {
            throw new CliError(
              `pipeline ${pipelineName} not found`,
              'check the name, --region and --endpoint (aws codepipeline list-pipelines lists them)',
            );
          }
          throw error;
        }),
      );
      const before = current.pipeline!;
      const after = addAction(before, {
        stage: options.stage,
        plugin,
        config: keyValues(options.config, '--config'),
        ...(options.name ? { name: options.name } : {}),
        ...(options.runOrder ? { runOrder: options.runOrder } : {}),
        inputs: options.input ?? [],
        outputs: options.output ?? [],
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.createStage ? { createStage: true } : {}),
        ...(options.before ? { before: options.before } : {}),
      });
      const diff = jsonDiff(before, after);
      if (options.dryRun) {
        if (options.json) io.out(JSON.stringify({ pipeline: after, diff }, null, 2));
        else io.out(diff);
        return;
      }
      const updated = await step(io, options, `updating pipeline ${pipelineName}`, () =>
        client.send(new UpdatePipelineCommand({ pipeline: after })).catch((error: Error) => {
          if (
            error.name === 'InvalidActionDeclarationException' &&
            /not available|not found/i.test(error.message)
          ) {
            const a = plugin.action!;
            throw new CliError(
              `action type ${a.category}/${a.provider}/${a.version} is not registered in this account and Region`,
              `register it first: pipewright register ${options.plugin}`,
            );
          }
          throw error;
        }),
      );
      if (options.json) {
        io.out(JSON.stringify({ pipeline: updated.pipeline }, null, 2));
        return;
      }
      const added = after
        .stages!.find((s) => s.name === options.stage)!
        .actions!.find((a) => a.name === (options.name ?? plugin.action!.provider))!;
      io.out(
        `added ${added.name} (${plugin.action!.category}/${plugin.action!.provider}/${plugin.action!.version}) to stage ${options.stage} of ${pipelineName} at runOrder ${added.runOrder}; pipeline version ${updated.pipeline?.version ?? '?'}`,
      );
    } finally {
      client.destroy();
    }
  });
}
