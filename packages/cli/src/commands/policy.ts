import { workerPolicy } from '@pipewright/core';
import type { Command } from 'commander';
import { type CommonOptions, type Io, withCommon } from '../common.js';
import { UsageError } from '../errors.js';
import { loadPlugins, withActions } from '../load-plugins.js';

interface PolicyOptions extends CommonOptions {
  account?: string;
  partition?: string;
}

export function policyCommand(program: Command, io: Io): void {
  withCommon(
    program
      .command('policy')
      .description("print the job worker's least-privilege IAM policy for these plugins' action types")
      .argument('<plugin...>', 'npm package names or module paths')
      .option(
        '--account <id>',
        'the 12-digit AWS account id in the resource ARNs (default: empty, as AWS writes it)',
      )
      .option('--partition <name>', 'aws, aws-cn or aws-us-gov', 'aws')
      .addHelpText(
        'after',
        "\nThe policy covers PollForJobs, AcknowledgeJob, GetJobDetails and PutJob*Result on these action types only;\nartifacts are read and written with each job's own credentials.\n\nExample:\n  pipewright policy @pipewright/plugin-shell --region eu-west-1 > worker-policy.json",
      ),
    { aws: false },
  )
    .option('--region <region>', 'AWS Region in the resource ARNs (default: *)')
    .action(async (specs: string[], options: PolicyOptions) => {
      if (options.account !== undefined && !/^\d{12}$/.test(options.account)) {
        throw new UsageError(`--account ${options.account} is not a 12-digit AWS account id`);
      }
      const plugins = withActions(await loadPlugins(specs, io.cwd));
      const policy = workerPolicy(plugins, {
        ...(options.region ? { region: options.region } : {}),
        ...(options.account ? { accountId: options.account } : {}),
        ...(options.partition ? { partition: options.partition } : {}),
      });
      io.out(JSON.stringify(policy, null, 2));
    });
}
