import type { ActionType, ActionTypeId, CodePipelineClient } from '@aws-sdk/client-codepipeline';
import {
  type AnyPlugin,
  type CreateCustomActionTypeInput,
  createCustomActionTypeInput,
} from '@pipewright/core';
import type { Command } from 'commander';
import { type CommonOptions, clientConfig, type Io, step, withCommon } from '../common.js';
import { CliError } from '../errors.js';
import { loadPlugins, withActions } from '../load-plugins.js';

interface RegisterOptions extends CommonOptions {
  dryRun?: boolean;
}

export type RegisterStatus = 'created' | 'unchanged';

const key = (id: {
  category?: string | undefined;
  provider?: string | undefined;
  version?: string | undefined;
}) => `${id.category}/${id.provider}/${id.version}`;

/** Every difference between what a plugin would register and what is registered, in words. */
export function differences(wanted: CreateCustomActionTypeInput, registered: ActionType): string[] {
  const diffs: string[] = [];
  const settingNames = [
    'entityUrlTemplate',
    'executionUrlTemplate',
    'revisionUrlTemplate',
    'thirdPartyConfigurationUrl',
  ] as const;
  for (const name of settingNames) {
    const a = wanted.settings?.[name];
    const b = registered.settings?.[name];
    if ((a ?? '') !== (b ?? ''))
      diffs.push(
        `settings.${name}: registered ${JSON.stringify(b ?? null)}, plugin ${JSON.stringify(a ?? null)}`,
      );
  }
  for (const field of ['inputArtifactDetails', 'outputArtifactDetails'] as const) {
    const a = wanted[field];
    const b = registered[field];
    if (a.minimumCount !== b?.minimumCount || a.maximumCount !== b?.maximumCount) {
      diffs.push(
        `${field}: registered ${b?.minimumCount}-${b?.maximumCount}, plugin ${a.minimumCount}-${a.maximumCount}`,
      );
    }
  }
  // AWS may add JobList for you (the user guide says so); it is not a difference the plugin made.
  const remote = (registered.actionConfigurationProperties ?? []).filter(
    (p) => !(p.name === 'JobList' && !wanted.configurationProperties.some((w) => w.name === 'JobList')),
  );
  for (const w of wanted.configurationProperties) {
    const r = remote.find((p) => p.name === w.name);
    if (!r) {
      diffs.push(`configuration property ${w.name} is not registered`);
      continue;
    }
    for (const flag of ['required', 'key', 'secret', 'queryable'] as const) {
      if (Boolean(w[flag]) !== Boolean(r[flag]))
        diffs.push(`${w.name}.${flag}: registered ${Boolean(r[flag])}, plugin ${Boolean(w[flag])}`);
    }
    if ((w.description ?? '') !== (r.description ?? '')) diffs.push(`${w.name}.description changed`);
    if (r.type !== undefined && w.type !== r.type)
      diffs.push(`${w.name}.type: registered ${r.type}, plugin ${w.type}`);
  }
  for (const r of remote) {
    if (!wanted.configurationProperties.some((w) => w.name === r.name)) {
      diffs.push(`configuration property ${r.name} is registered but no longer in the plugin`);
    }
  }
  return diffs;
}

async function listCustomTypes(client: CodePipelineClient): Promise<ActionType[]> {
  const { ListActionTypesCommand } = await import('@aws-sdk/client-codepipeline');
  const all: ActionType[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListActionTypesCommand({ actionOwnerFilter: 'Custom', ...(nextToken ? { nextToken } : {}) }),
    );
    all.push(...(page.actionTypes ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

export interface RegisterResult {
  plugin: string;
  actionTypeId: ActionTypeId;
  status: RegisterStatus;
  request: CreateCustomActionTypeInput;
  warnings: readonly string[];
}

/** Registers each plugin's action type unless an identical one exists; refuses a changed one. */
export async function register(
  plugins: readonly AnyPlugin[],
  options: RegisterOptions,
  io: Io,
): Promise<RegisterResult[]> {
  const { CodePipelineClient, CreateCustomActionTypeCommand } = await import('@aws-sdk/client-codepipeline');
  const client = new CodePipelineClient(clientConfig(options, io.env));
  try {
    const existing = await step(io, options, 'reading the registered action types', () =>
      listCustomTypes(client),
    );
    const results: RegisterResult[] = [];
    for (const plugin of plugins) {
      const request = createCustomActionTypeInput(plugin);
      const actionTypeId: ActionTypeId = {
        category: request.category as ActionTypeId['category'],
        owner: 'Custom',
        provider: request.provider,
        version: request.version,
      };
      const found = existing.find((t) => t.id && key(t.id) === key(request));
      let status: RegisterStatus;
      if (found) {
        const diffs = differences(request, found);
        if (diffs.length > 0) {
          throw new CliError(
            `action type ${key(request)} (${plugin.name}) is registered with a different definition: ${diffs.join('; ')}`,
            `AWS action types cannot change in place: bump action.version in ${plugin.name} (e.g. to "${bump(request.version)}") and register again`,
          );
        }
        status = 'unchanged';
      } else {
        await step(io, options, `creating action type ${key(request)}`, () =>
          client.send(new CreateCustomActionTypeCommand(request as never)),
        );
        status = 'created';
      }
      results.push({ plugin: plugin.name, actionTypeId, status, request, warnings: plugin.warnings });
    }
    return results;
  } finally {
    client.destroy();
  }
}

function bump(version: string): string {
  return /^\d+$/.test(version) ? String(Number(version) + 1) : `${version}-2`;
}

const WORDS: Record<RegisterStatus, string> = {
  created: 'registered',
  unchanged: 'already registered, identical; left alone',
};

export function registerCommand(program: Command, io: Io): void {
  withCommon(
    program
      .command('register')
      .description('create the CodePipeline custom action type of each plugin (idempotent)')
      .argument('<plugin...>', 'npm package names or module paths (module#exportName picks one export)')
      .option('--dry-run', 'print the CreateCustomActionType request JSON; change nothing')
      .addHelpText(
        'after',
        '\nExample:\n  pipewright register @pipewright/plugin-shell ./dist/my-plugin.js --region eu-west-1',
      ),
  ).action(async (specs: string[], options: RegisterOptions) => {
    const plugins = withActions(await loadPlugins(specs, io.cwd));
    for (const p of plugins) for (const w of p.warnings) io.err(`warning: ${p.name}: ${w}`);
    if (options.dryRun) {
      // The request exactly as CreateCustomActionType (or `aws codepipeline create-custom-action-type
      // --cli-input-json`) takes it; nothing is sent.
      const requests = plugins.map((p) => createCustomActionTypeInput(p));
      io.out(JSON.stringify(requests.length === 1 ? requests[0] : requests, null, 2));
      return;
    }
    const results = await register(plugins, options, io);
    if (options.json) {
      io.out(JSON.stringify(results, null, 2));
      return;
    }
    for (const r of results) io.out(`${key(r.actionTypeId)} (${r.plugin}): ${WORDS[r.status]}`);
  });
}
