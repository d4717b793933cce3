import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import type { DeploymentTickEvent, PreStartDeploymentEvent } from './appconfig.js';
import { definePlugin } from './plugin.js';
import { succeeded } from './results.js';

test('handler and config types are inferred from the schema', () => {
  definePlugin({
    name: 'p',
    version: '1.0.0',
    description: 'd',
    config: z.object({
      Command: z.string(),
      Retries: z.number().default(2),
      Verbose: z.boolean().optional(),
    }),
    action: {
      category: 'Build',
      provider: 'P',
      version: '1',
      run(ctx) {
        expectTypeOf(ctx.config).toEqualTypeOf<{
          Command: string;
          Retries: number;
          Verbose?: boolean | undefined;
        }>();
        // @ts-expect-error an undeclared property is a type error
        ctx.config.Nope;
        return succeeded();
      },
    },
    extension: {
      name: 'E',
      handlers: {
        PRE_START_DEPLOYMENT(event, ctx) {
          expectTypeOf(event).toEqualTypeOf<PreStartDeploymentEvent>();
          expectTypeOf(ctx.params.Command).toEqualTypeOf<string>();
          return { content: event.content.text() };
        },
        AT_DEPLOYMENT_TICK(event) {
          expectTypeOf(event).toEqualTypeOf<DeploymentTickEvent>();
          return { directive: 'ROLL_BACK', description: 'alarm' };
        },
        // @ts-expect-error an ON_* handler returns nothing
        ON_DEPLOYMENT_COMPLETE: () => ({ content: 'x' }),
      },
    },
  });
});
