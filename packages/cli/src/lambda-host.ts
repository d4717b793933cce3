import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyPlugin } from '@pipewright/core';
import { CliError } from './errors.js';
import { pluginSource } from './load-plugins.js';

/** What the CLI uses of the Lambda host app (apps/lambda-host), loaded only by `extension deploy` and `dev`. */
export interface LambdaHostModule {
  bundledPlugins: readonly AnyPlugin[];
  shortName(plugin: AnyPlugin): string;
  cloudFormationTemplate(options: Record<string, unknown>): Record<string, unknown>;
}

export interface LambdaHost {
  dir: string;
  module: LambdaHostModule;
}

export async function loadLambdaHost(): Promise<LambdaHost> {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('@pipewright/lambda-host/package.json'));
  } catch {
    throw new CliError(
      'the pipewright Lambda host is not available to this installation',
      'run pipewright from the pipewright repository (pnpm install && pnpm build), where apps/lambda-host lives',
    );
  }
  const entry = join(dir, 'dist', 'index.js');
  if (!existsSync(entry)) {
    throw new CliError(
      'the Lambda host is not built',
      'run pnpm build (or pnpm --filter @pipewright/lambda-host build) first',
    );
  }
  return { dir, module: (await import(pathToFileURL(entry).href)) as LambdaHostModule };
}

/**
 * The deployment package for these plugins: the prebuilt dist/lambda.zip when it carries them all, else a
 * fresh bundle of the host with these plugins (esbuild, through the host's own build script).
 */
export async function lambdaZip(
  host: LambdaHost,
  plugins: readonly AnyPlugin[],
): Promise<{ zipPath: string; custom: boolean; cleanup(): Promise<void> }> {
  const bundled = new Set(host.module.bundledPlugins.map((p) => p.name));
  const prebuilt = join(host.dir, 'dist', 'lambda.zip');
  const build = (await import(pathToFileURL(join(host.dir, 'build.mjs')).href)) as {
    buildLambda(options: { entry: string; outdir: string }): Promise<{ zipPath: string }>;
  };
  const allBundled = plugins.every((p) => bundled.has(p.name));
  if (allBundled && existsSync(prebuilt))
    return { zipPath: prebuilt, custom: false, cleanup: async () => {} };
  // Never into the host's own dist (its build may be writing there): a fresh folder each time.
  const work = await mkdtemp(join(tmpdir(), 'pipewright-lambda-build-'));
  if (allBundled) {
    try {
      const { zipPath } = await build.buildLambda({
        entry: join(host.dir, 'src', 'main.ts'),
        outdir: join(work, 'dist'),
      });
      return { zipPath, custom: false, cleanup: () => rm(work, { recursive: true, force: true }) };
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  }
  const files = [
    ...new Set(plugins.map((p) => pluginSource.get(p)?.file).filter((f): f is string => Boolean(f))),
  ];
  const lines = [
    `import { createLambdaHandler } from ${JSON.stringify(join(host.dir, 'src', 'handler.ts'))};`,
    ...files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
    "const isPlugin = (v) => typeof v === 'object' && v !== null && v.kind === 'pipewright-plugin';",
    'const pick = (m) => Object.values(m).flatMap((v) => (Array.isArray(v) ? v : [v])).filter(isPlugin);',
    `export const handler = createLambdaHandler({ plugins: [...new Set([${files.map((_, i) => `...pick(m${i})`).join(', ')}])] });`,
  ];
  const entry = join(work, 'main.mjs');
  await writeFile(entry, `${lines.join('\n')}\n`);
  try {
    const { zipPath } = await build.buildLambda({ entry, outdir: join(work, 'dist') });
    return { zipPath, custom: true, cleanup: () => rm(work, { recursive: true, force: true }) };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw new CliError(
      `building the Lambda host with ${plugins.map((p) => p.name).join(', ')} failed: ${(error as Error).message.split('\n')[0]}`,
      'run with --debug for the bundler output',
      1,
      { cause: error },
    );
  }
}
