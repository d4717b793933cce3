import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it, vi } from 'vitest';

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

describe('limitYoungGeneration', () => {
  it('is known to every copy of the module, as in a bundle that holds it twice', async () => {
    const first = await import('./young-gc.js');
    vi.resetModules();
    const second = await import('./young-gc.js');
    expect(second).not.toBe(first);
    expect([first.youngGenerationLimited(), second.youngGenerationLimited()]).toEqual([false, false]);
    expect(first.threadGcOptions(2).workerData.limitYoungGeneration).toBe(false);

    first.limitYoungGeneration();

    expect([first.youngGenerationLimited(), second.youngGenerationLimited()]).toEqual([true, true]);
    // The other copy tells its threads to apply the limit again too.
    expect(second.threadGcOptions(2).workerData.limitYoungGeneration).toBe(true);
  });

  it('keeps the young generation at the size it has while short-lived buffers churn', async () => {
    const { limitYoungGeneration, youngGc } = await import('./young-gc.js');
    limitYoungGeneration();
    const before = newSpace();
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.allocUnsafeSlow(64 * 1024);
      youngGc.add(chunk.length);
      // Some objects live across collections, which is what makes V8 grow the young generation.
      if (i % 100 === 0)
        (globalThis as { keep?: unknown[] }).keep = Array.from({ length: 5000 }, () => ({ i }));
    }
    delete (globalThis as { keep?: unknown }).keep;
    expect(newSpace()).toBeLessThanOrEqual(before);
  });
});
