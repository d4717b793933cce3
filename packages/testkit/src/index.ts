export {
  type ActionRun,
  type FixtureArtifact,
  type RunActionTestOptions,
  runPluginAction,
} from './run-action.js';
