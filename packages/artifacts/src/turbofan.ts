import { setFlagsFromString } from 'node:v8';

/**
 * Whether Maglev, V8's mid-tier optimizing compiler, is on by default here: from Node 22 (V8 12) on x64 and
 * arm64. Without it, a process that skips Turbofan would leave hot code in the baseline compiler.
 */
export function maglevByDefault(
  nodeVersion: string = process.versions.node,
  arch: string = process.arch,
): boolean {
  return Number(nodeVersion.split('.')[0]) >= 22 && (arch === 'x64' || arch === 'arm64');
}

/**
 * Has V8 leave hot functions compiled by Maglev instead of compiling them again with Turbofan, for the
 * rest of the process, where Maglev is on by default (`maglevByDefault`). The first Turbofan compile pages
 * in some 5 MiB of Node's binary (its compiler's code) and allocates compile zones: on Node 24 a transfer
 * of the benchmark's tree peaked 8-10 MiB higher with it. A job worker spends its CPU in zlib, hashing and
 * sockets, and none was saved by Turbofan: alternating with and without, the upload's CPU time and the
 * worker's CPU per no-op job (over 12,000 jobs) were the same. Process-wide, so it is the host's call (the
 * job worker makes it when created, the GitHub Action and `pipewright worker` at start). Returns whether
 * it applied the setting.
 */
export function skipTurbofan(): boolean {
  if (!maglevByDefault()) return false;
  try {
    setFlagsFromString('--no-turbofan');
    return true;
  } catch {
    // Flags frozen: V8 tiers up as it would anyway.
    return false;
  }
}
