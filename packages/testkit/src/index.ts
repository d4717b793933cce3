export {
  type FixtureEventOptions,
  fixtureEvent,
  type InvokeExtensionOptions,
  invokeExtension,
} from './invoke-extension.js';
export {
  type ActionRun,
  type FixtureArtifact,
  type RunActionTestOptions,
  runPluginAction,
} from './run-action.js';
