import { describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { failed, inProgress, succeeded } from './results.js';

describe('results', () => {
  it('builds each result kind', () => {
    expect(succeeded({ summary: 's' })).toEqual({ status: 'succeeded', summary: 's' });
    expect(inProgress({ step: 2 }, { percentComplete: 50 })).toEqual({
      status: 'in-progress',
      state: { step: 2 },
      percentComplete: 50,
    });
    expect(failed('boom')).toEqual({ status: 'failed', failureType: 'JobFailed', message: 'boom' });
    expect(failed('no', { failureType: 'PermissionError' }).failureType).toBe('PermissionError');
  });

  it('accepts continuation state of exactly 2048 characters and refuses 2049', () => {
    const fits = 'x'.repeat(2046); // JSON adds two quotes
    expect(inProgress(fits).state).toBe(fits);
    expect(() => inProgress(`${fits}x`)).toThrow(
      /2049 characters of JSON; CodePipeline carries at most 2048/,
    );
    try {
      inProgress(`${fits}x`);
    } catch (error) {
      expect(PluginError.is(error)).toBe(true);
      expect((error as PluginError).code).toBe('CONTINUATION_TOO_LARGE');
    }
  });

  it('refuses a percentage outside 0-100', () => {
    expect(() => inProgress(1, { percentComplete: 101 })).toThrow(/between 0 and 100/);
  });
});
