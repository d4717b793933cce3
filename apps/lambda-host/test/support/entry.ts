// A Lambda entry carrying the bundled plugins plus the test plugins, built and zipped like the real one.
import { createLambdaHandler } from '../../src/handler.js';
import { bundledPlugins } from '../../src/plugins.js';
import { deploymentEvents, deploymentGuard } from './test-plugins.js';

export const handler = createLambdaHandler({
  plugins: [...bundledPlugins, deploymentGuard, deploymentEvents],
});
