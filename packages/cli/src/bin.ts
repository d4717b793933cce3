#!/usr/bin/env node
import { main } from './main.js';

// The AWS SDK warns on every run under Node 20 about its future releases; pipewright supports Node >= 20.19
// and says so in its README, so the warning is noise on a command line.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text =
    typeof warning === 'string'
      ? `${warning} ${String(rest[0] ?? '')}`
      : `${warning.name} ${warning.message}`;
  if (/NodeVersionSupportWarning/.test(text)) return;
  return (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

process.exitCode = await main(process.argv.slice(2));
