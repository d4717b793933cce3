#!/usr/bin/env node
// Scaffolds a workspace package with the repository's conventions: node scripts/new-package.mjs <dir> <name> "<description>"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, description = ''] = process.argv.slice(2);
if (!dir || !name) {
  console.error('usage: node scripts/new-package.mjs <dir> <name> "<description>"');
  process.exit(2);
}
const isPlugin = dir.startsWith('plugins/');
const isApp = dir.startsWith('apps/');
mkdirSync(join(dir, 'src'), { recursive: true });
const depth = dir.split('/').length;
const up = '../'.repeat(depth);
const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.19' },
  exports: {
    '.': { types: './dist/index.d.ts', '@pipewright/source': './src/index.ts', default: './dist/index.js' },
    './package.json': './package.json',
  },
  types: './dist/index.d.ts',
  files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/*.test-d.ts'],
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: 'vitest run',
    ...(isApp ? {} : { 'check:pkg': 'publint --strict && attw --pack . --profile esm-only' }),
  },
  ...(isPlugin ? { peerDependencies: { '@pipewright/core': 'workspace:^' } } : {}),
  dependencies: {},
  devDependencies: {
    ...(isPlugin ? { '@pipewright/core': 'workspace:^', '@pipewright/testkit': 'workspace:^' } : {}),
    ...(isApp ? {} : { publint: 'catalog:dev', '@arethetypeswrong/cli': 'catalog:dev' }),
  },
  ...(isApp ? { private: true } : { publishConfig: { access: 'public' } }),
};
const write = (file, text) => {
  if (!existsSync(join(dir, file))) writeFileSync(join(dir, file), text);
};
write('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
write(
  'tsconfig.json',
  `${JSON.stringify({ extends: `${up}tsconfig.base.json`, compilerOptions: { noEmit: true }, include: ['src', 'test', '*.ts'] }, null, 2)}\n`,
);
write(
  'tsconfig.build.json',
  `${JSON.stringify(
    {
      extends: `${up}tsconfig.base.json`,
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
      exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts', 'src/**/__fixtures__'],
    },
    null,
    2,
  )}\n`,
);
write(
  'vitest.config.ts',
  `import { defineConfig, mergeConfig } from 'vitest/config';\nimport { sharedConfig } from '${up}vitest.shared.js';\n\nexport default mergeConfig(sharedConfig, defineConfig({}));\n`,
);
write('src/index.ts', 'export {};\n');
write('README.md', `# ${name}\n\n${description}\n`);
