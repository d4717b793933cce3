import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';

describe('pipewright dev', () => {
  it('runs the example project through the local stack: a pipeline execution and an AppConfig deployment', {
    timeout: 120_000,
  }, async () => {
    const run = await cli(['dev', '--exit', '--random-ports'], { timeoutMs: 110_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('✓ registered Build/Pipewright-Shell/1 (@pipewright/plugin-shell)');
    expect(out).toContain('✓ registered Test/Pipewright-Shell/1 (@pipewright/plugin-shell)');
    expect(out).toContain('✓ deployed extension pipewright-json-schema to the local Lambda host');
    expect(out).toMatch(/✓ a broken settings.json was refused by the extension: .*does not match the schema/);
    expect(out).toContain('✓ deployment 1 COMPLETE');
    expect(out).toContain('ok 1 - greet runs through its symlink: Hello, pipewright!');
    expect(out).toContain('✓ pipeline execution Succeeded');
  });

  it('--json reports what ran', { timeout: 120_000 }, async () => {
    const run = await cli(['dev', '--exit', '--random-ports', '--json'], { timeoutMs: 110_000 });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.pipeline).toMatchObject({ name: 'pipewright-example', status: 'Succeeded' });
    expect(result.pipeline.actions.map((a: { action: string }) => a.action)).toEqual([
      'Checkout',
      'Assemble',
      'Smoke',
    ]);
    expect(result.appconfig).toMatchObject({
      extension: 'pipewright-json-schema',
      version: 1,
      deployment: { state: 'COMPLETE' },
    });
  });

  it('a failing build fails the run with exit code 1', { timeout: 120_000 }, async () => {
    const run = await cli(['dev', '--exit', '--random-ports', '--build-command', 'echo broken >&2; exit 4'], {
      timeoutMs: 110_000,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ Build/Assemble Failed');
    expect(run.stdout).toContain('✗ pipeline execution Failed');
  });
});
