import type { Worker } from './types.js';

export interface SignalOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT stop the worker gracefully (running jobs get the grace period, then are handed off or
 * failed); a second signal stops it at once. Returns a function that removes the handlers.
 */
export function installSignalHandlers(worker: Pick<Worker, 'stop'>, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals) => worker.stop(signal);
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
