import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { maglevByDefault } from './turbofan.js';

const built = fileURLToPath(new URL('../dist/turbofan.js', import.meta.url));

// V8's %GetOptimizationStatus bits (src/runtime/runtime.h).
const MAGLEVVED = 1 << 5;
const TURBOFANNED = 1 << 6;

/**
 * A child process that runs a hot function until Turbofan compiles it or for 2 s, after calling skipTurbofan
 * or not, and prints whether the call applied and the function's optimization status. A process of its own:
 * the setting is process-wide and lasts.
 */
function hotFunctionStatus(skip: boolean): { applied: boolean; status: number } {
  const script = `
    const { skipTurbofan } = await import(${JSON.stringify(built)});
    const applied = ${skip} ? skipTurbofan() : false;
    const sum = new Function('a', 'let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s;');
    const statusOf = new Function('f', 'return %GetOptimizationStatus(f)');
    const a = Array.from({ length: 1000 }, (_, i) => i);
    let t = 0;
    // Until Turbofan has compiled it (on a background thread), or for 2 s.
    for (const end = Date.now() + 2000; Date.now() < end && !(statusOf(sum) & ${TURBOFANNED}); ) {
      for (let i = 0; i < 1000; i++) t += sum(a);
    }
    console.log(JSON.stringify({ applied, status: statusOf(sum), t: t > 0 }));
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('skipTurbofan', () => {
  it('applies only where Maglev is on by default', () => {
    expect(maglevByDefault('20.19.0', 'x64')).toBe(false);
    expect(maglevByDefault('22.0.0', 'x64')).toBe(true);
    expect(maglevByDefault('24.11.1', 'arm64')).toBe(true);
    expect(maglevByDefault('24.11.1', 's390x')).toBe(false);
  });

  it.runIf(maglevByDefault())(
    'leaves a hot function compiled by Maglev where it would reach Turbofan',
    () => {
      const before = hotFunctionStatus(false);
      // Proves that the loop is hot enough to reach Turbofan, so that its absence below means something.
      expect(before.status & TURBOFANNED).toBe(TURBOFANNED);

      const after = hotFunctionStatus(true);
      expect(after.applied).toBe(true);
      expect(after.status & TURBOFANNED).toBe(0);
      expect(after.status & MAGLEVVED).toBe(MAGLEVVED);
    },
  );

  it.runIf(!maglevByDefault())('changes nothing where Maglev is off', () => {
    const after = hotFunctionStatus(true);
    expect(after.applied).toBe(false);
    expect(after.status & TURBOFANNED).toBe(TURBOFANNED);
  });
});
