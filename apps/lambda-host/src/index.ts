export { createLambdaHandler, type LambdaContext, type LambdaHandlerOptions } from './handler.js';
export { powertoolsLogger } from './logger.js';
export { bundledPlugins, selectPlugins, shortName } from './plugins.js';
export { cloudFormationTemplate, type LambdaRuntime, type TemplateOptions } from './template.js';
