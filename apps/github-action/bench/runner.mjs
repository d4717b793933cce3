// What the GitHub runner gives an action's process: the files it writes its outputs, step summary and state
// to, and the variables naming them. Created in `dir`, which serves as the workspace and temp folder too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function runnerEnv(dir) {
  for (const f of ['output', 'summary', 'state']) writeFileSync(join(dir, f), '');
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    RUNNER_TEMP: dir,
    GITHUB_WORKSPACE: dir,
  };
}
