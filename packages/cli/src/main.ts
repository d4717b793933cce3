import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { devCommand } from './commands/dev.js';
import { extensionCommand } from './commands/extension.js';
import { initCommand } from './commands/init.js';
import { localCommand } from './commands/local.js';
import { pipelineCommand } from './commands/pipeline.js';
import { policyCommand } from './commands/policy.js';
import { registerCommand } from './commands/register.js';
import { workerCommand } from './commands/worker.js';
import { type Io, processIo } from './common.js';
import { explain } from './errors.js';

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function createProgram(io: Io): Command {
  const program = new Command('pipewright')
    .description(
      'Register, wire up, deploy and run pipewright plugins as CodePipeline custom actions and AppConfig extensions.',
    )
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });
  devCommand(program, io);
  localCommand(program, io);
  registerCommand(program, io);
  pipelineCommand(program, io);
  policyCommand(program, io);
  workerCommand(program, io);
  extensionCommand(program, io);
  initCommand(program, io);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program).slice(1)) {
    cmd
      .exitOverride()
      .showHelpAfterError('(run with --help for usage)')
      .configureOutput(program.configureOutput());
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const debug = argv.includes('--debug');
  const program = createProgram(io);
  // Some awaited work (stopping the local stack's unref'd Lambda runners) holds no event-loop handle; without
  // one, Node would exit mid-command with "unsettled top-level await" (exit code 13).
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // Help shown because no command was named: a usage error.
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      // Commander already printed the message and the help hint.
      return 2;
    }
    const { message, hint, exitCode } = explain(error);
    io.err(`error: ${message}`);
    if (hint) io.err(`hint: ${hint}`);
    if (debug) {
      io.err(error instanceof Error ? (error.stack ?? String(error)) : String(error));
      const metadata = (error as { $metadata?: unknown }).$metadata;
      if (metadata) io.err(`AWS response: ${JSON.stringify(metadata)}`);
    }
    return exitCode;
  } finally {
    clearInterval(keepAlive);
  }
}
