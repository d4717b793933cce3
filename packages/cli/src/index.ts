export { differences, type RegisterResult, register } from './commands/register.js';
export { CliError, explain, UsageError } from './errors.js';
export { loadPlugin, loadPlugins } from './load-plugins.js';
export { createProgram, main } from './main.js';
