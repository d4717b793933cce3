import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { configurationTable, definePlugin, z } from '@pipewright/core';
import type { Command } from 'commander';
import { type CommonOptions, type Io, withCommon } from '../common.js';
import { CliError, UsageError } from '../errors.js';

interface InitOptions extends CommonOptions {
  dir?: string;
  provider?: string;
  category?: string;
  force?: boolean;
}

const PACKAGE = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

function coreVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('@pipewright/core/package.json') as { version: string }).version;
  } catch {
    return '0.1.0';
  }
}

/** The scaffold's configuration schema, kept identical to the generated src/index.ts (its test checks). */
export function scaffoldDefinition(
  packageName: string,
  provider: string,
  category: 'Build' | 'Test' | 'Deploy' | 'Invoke',
) {
  return definePlugin({
    name: packageName,
    version: '0.1.0',
    description: `Runs a command for ${provider}.`,
    config: z.object({
      Command: z
        .string()
        .min(1)
        .max(1000)
        .meta({ description: 'The command to run in the input artifact, e.g. npx my-tool check.' }),
      Args: z.string().max(1000).optional().meta({ description: 'Extra arguments, split on spaces.' }),
      FailOnWarnings: z
        .boolean()
        .default(false)
        .meta({ description: 'Fail the action when the tool prints a line starting with "warning".' }),
    }),
    action: {
      category,
      provider,
      version: '1',
      inputArtifacts: { minimum: 1, maximum: 1 },
      outputArtifacts: { minimum: 0, maximum: 1 },
      run: () => undefined,
    },
  });
}

function pascal(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('-');
}

function files(packageName: string, provider: string, category: string, table: string) {
  const core = `^${coreVersion()}`;
  const source = `import { readFile } from 'node:fs/promises';
import { definePlugin, failed, succeeded, z } from '@pipewright/core';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The one configuration schema: CodePipeline properties, AppConfig parameters and validation derive from it. */
export const config = z.object({
  Command: z.string().min(1).max(1000).meta({ description: 'The command to run in the input artifact, e.g. npx my-tool check.' }),
  Args: z.string().max(1000).optional().meta({ description: 'Extra arguments, split on spaces.' }),
  FailOnWarnings: z.boolean().default(false).meta({ description: 'Fail the action when the tool prints a line starting with "warning".' }),
});

export default definePlugin({
  name: '${packageName}',
  version: pkg.version,
  description: 'Runs a command for ${provider}.',
  config,
  action: {
    category: '${category}',
    provider: '${provider}',
    // AWS action types cannot change in place: bump this whenever the definition changes.
    version: '1',
    inputArtifacts: { minimum: 1, maximum: 1 },
    outputArtifacts: { minimum: 0, maximum: 1 },
    async run(ctx) {
      const args = ctx.config.Args ? ctx.config.Args.split(' ').filter(Boolean) : [];
      const result = await ctx.exec('/bin/sh', ['-c', [ctx.config.Command, ...args].join(' ')], { cwd: ctx.input });
      if (result.exitCode !== 0) return failed(\`the command exited with code \${result.exitCode}\`);
      if (ctx.config.FailOnWarnings && result.tail.some((line) => line.toLowerCase().startsWith('warning'))) {
        return failed('the command printed warnings');
      }
      return succeeded({ summary: result.tail.slice(-5).join('\\n') || 'done' });
    },
  },
  // Add \`extension: { name, handlers: { PRE_START_DEPLOYMENT: (event, ctx) => ... } }\` to run as an AppConfig extension.
});
`;
  const test = `import { readFile } from 'node:fs/promises';
import { configurationTable } from '@pipewright/core';
import { runPluginAction } from '@pipewright/testkit';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

describe('${packageName}', () => {
  it('is a valid definition with no warnings', () => {
    expect(plugin.action?.provider).toBe('${provider}');
    expect(plugin.warnings).toEqual([]);
  });

  it('runs the command in the input artifact', async () => {
    const run = await runPluginAction(plugin, {
      config: { Command: 'cat hello.txt' },
      inputs: { Source: { 'hello.txt': 'hello from the artifact' } },
    });
    try {
      expect(run.result).toMatchObject({ status: 'succeeded' });
      expect(run.result.status === 'succeeded' && run.result.summary).toContain('hello from the artifact');
    } finally {
      await run.cleanup();
    }
  });

  it('fails when the command fails', async () => {
    const run = await runPluginAction(plugin, { config: { Command: 'exit 3' }, inputs: { Source: {} } });
    try {
      expect(run.result).toMatchObject({ status: 'failed' });
    } finally {
      await run.cleanup();
    }
  });

  it('keeps the README configuration table current', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configurationTable(plugin));
  });
});
`;
  const readme = `# ${packageName}

A [pipewright](https://github.com/pipewright/pipewright) plugin: runs a command as the CodePipeline custom
action \`${category}/${provider}/1\`.

## Use it

\`\`\`sh
pipewright register ${packageName}
pipewright pipeline add-action MyPipeline --stage Build --plugin ${packageName} --config Command="npx my-tool" --input SourceOutput
pipewright worker ${packageName}
\`\`\`

## Configuration

${table}

## Develop

\`\`\`sh
npm install
npm test
\`\`\`
`;
  const packageJson = {
    name: packageName,
    version: '0.1.0',
    description: `Runs a command for ${provider} as a pipewright plugin.`,
    type: 'module',
    engines: { node: '>=20.19' },
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'src', '!src/**/*.test.ts'],
    keywords: ['pipewright', 'pipewright-plugin', 'codepipeline'],
    scripts: { build: 'tsc -p tsconfig.build.json', typecheck: 'tsc --noEmit', test: 'vitest run' },
    peerDependencies: { '@pipewright/core': core },
    devDependencies: {
      '@pipewright/core': core,
      '@pipewright/testkit': core,
      '@types/node': '^20.19.0',
      typescript: '^5.9.0',
      vitest: '^4.1.0',
    },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      declaration: true,
      outDir: 'dist',
      rootDir: 'src',
      verbatimModuleSyntax: true,
    },
    include: ['src'],
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    'tsconfig.build.json': `${JSON.stringify({ extends: './tsconfig.json', exclude: ['src/**/*.test.ts'] }, null, 2)}\n`,
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 30_000 } });
`,
    'src/index.ts': source,
    'src/index.test.ts': test,
    'README.md': readme,
    '.gitignore': 'node_modules\ndist\n',
  };
}

export async function initPlugin(name: string, options: InitOptions, io: Io) {
  const packageName =
    name.includes('/') || name.startsWith('pipewright-plugin-') ? name : `pipewright-plugin-${name}`;
  if (!PACKAGE.test(packageName)) {
    throw new UsageError(
      `${name} is not a valid npm package name`,
      'use lower case letters, digits and dashes, e.g. my-tool or @acme/pipewright-plugin-my-tool',
    );
  }
  const short = basename(packageName).replace(/^(pipewright-)?plugin-/, '');
  const provider = options.provider ?? pascal(short).slice(0, 25);
  const category = (options.category ?? 'Build') as 'Build' | 'Test' | 'Deploy' | 'Invoke';
  if (!['Build', 'Test', 'Deploy', 'Invoke'].includes(category)) {
    throw new UsageError(`--category ${category} is not Build, Test, Deploy or Invoke`);
  }
  // definePlugin checks provider and every other AWS limit now, not when AWS rejects it.
  const plugin = scaffoldDefinition(packageName, provider, category);
  const dir = resolve(io.cwd, options.dir ?? short);
  if (existsSync(dir) && (await readdir(dir)).length > 0 && !options.force) {
    throw new CliError(
      `${dir} exists and is not empty`,
      'pick another --dir, or pass --force to write into it',
    );
  }
  const written: string[] = [];
  for (const [path, content] of Object.entries(
    files(packageName, provider, category, configurationTable(plugin)),
  )) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    written.push(path);
  }
  return { dir, packageName, provider, category, files: written, relative: relative(io.cwd, dir) || '.' };
}

export function initCommand(program: Command, io: Io): void {
  const init = program.command('init').description('scaffold pipewright projects');
  withCommon(
    init
      .command('plugin')
      .description(
        'scaffold a plugin package: definition, README with its configuration table, a testkit test',
      )
      .argument('<name>', 'package name: my-tool becomes pipewright-plugin-my-tool; a scoped name is kept')
      .option('--dir <folder>', 'where to write it (default: ./<name>)')
      .option('--provider <provider>', 'the CodePipeline provider name (default: from the name)')
      .option('--category <category>', 'Build, Test, Deploy or Invoke', 'Build')
      .option('--force', 'write into a folder that is not empty')
      .addHelpText(
        'after',
        '\nExample:\n  pipewright init plugin my-linter --category Test && cd my-linter && npm install && npm test',
      ),
    { aws: false },
  ).action(async (name: string, options: InitOptions) => {
    const result = await initPlugin(name, options, io);
    if (options.json) {
      io.out(JSON.stringify(result, null, 2));
      return;
    }
    io.out(`created ${result.packageName} (${result.category}/${result.provider}/1) in ${result.relative}`);
    for (const f of result.files) io.out(`  ${f}`);
    io.out(`next: cd ${result.relative} && npm install && npm test`);
  });
}
