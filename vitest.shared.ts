import { defineConfig } from 'vitest/config';

// Every package resolves the other workspace packages from their TypeScript source through this export
// condition, so a test sees a change in `core` without a rebuild. Built bundles and child processes use dist.
export const sharedConfig = defineConfig({
  resolve: { conditions: ['@pipewright/source'] },
  ssr: { resolve: { conditions: ['@pipewright/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
  },
});
