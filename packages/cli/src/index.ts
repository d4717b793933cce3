export { type DevResult, dev } from './commands/dev.js';
export { applyExtensions, associate, resourceArn } from './commands/extension.js';
export { initPlugin, scaffoldDefinition } from './commands/init.js';
export { differences, type RegisterResult, register } from './commands/register.js';
export { CliError, explain, UsageError } from './errors.js';
export { loadPlugin, loadPlugins } from './load-plugins.js';
export { createProgram, main } from './main.js';
export { type AddActionRequest, addAction, availableArtifacts, jsonDiff } from './pipeline-edit.js';
