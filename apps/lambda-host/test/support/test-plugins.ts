// Small plugins for the end-to-end tests: a tick guard that rolls back on request, and a recorder of the
// ON_* points. Bundled with the real ones into a second Lambda zip (test/support/entry.ts).
import { definePlugin, z } from '@pipewright/core';

export const deploymentGuard = definePlugin({
  name: 'deployment-guard',
  version: '0.0.0',
  description: 'Rolls a deployment back when told to (tests only).',
  config: z.object({
    Mode: z
      .enum(['continue', 'roll-back'])
      .default('continue')
      .meta({ description: 'What each tick answers.' }),
  }),
  extension: {
    name: 'pipewright-test-deployment-guard',
    handlers: {
      AT_DEPLOYMENT_TICK: (event, ctx) => {
        ctx.logger.info('tick', { state: event.deploymentState, percent: event.percentageComplete });
        return ctx.params.Mode === 'roll-back'
          ? { directive: 'ROLL_BACK', description: `alarm fired at ${event.percentageComplete ?? 0}%` }
          : { directive: 'CONTINUE' };
      },
    },
  },
});

const note =
  (point: string) =>
  (
    event: { deploymentNumber: number | undefined },
    ctx: { logger: { info(m: string, f?: Record<string, unknown>): void } },
  ) => {
    ctx.logger.info(`${point} for deployment ${event.deploymentNumber}`);
  };

export const deploymentEvents = definePlugin({
  name: 'deployment-events',
  version: '0.0.0',
  description: 'Logs every ON_* point (tests only).',
  config: z.object({}),
  extension: {
    name: 'pipewright-test-deployment-events',
    handlers: {
      ON_DEPLOYMENT_START: note('ON_DEPLOYMENT_START'),
      ON_DEPLOYMENT_STEP: note('ON_DEPLOYMENT_STEP'),
      ON_DEPLOYMENT_BAKING: note('ON_DEPLOYMENT_BAKING'),
      ON_DEPLOYMENT_COMPLETE: note('ON_DEPLOYMENT_COMPLETE'),
      ON_DEPLOYMENT_ROLLED_BACK: note('ON_DEPLOYMENT_ROLLED_BACK'),
    },
  },
});
