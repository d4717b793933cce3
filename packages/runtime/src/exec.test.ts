import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExec } from './exec.js';
import { createMemoryLogger } from './logger.js';
import { Masker } from './masker.js';

function setup(env?: Record<string, string>, baseEnv?: NodeJS.ProcessEnv) {
  const { logger, records } = createMemoryLogger();
  const masker = new Masker();
  const controller = new AbortController();
  const cwd = mkdtempSync(join(tmpdir(), 'pw-exec-'));
  const exec = createExec({ logger, masker, signal: controller.signal, cwd, env, baseEnv });
  return { exec, records, masker, controller, cwd };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('exec', () => {
  it('runs a tool, streams its lines to the logger and keeps the tail', async () => {
    const { exec, records } = setup();
    const result = await exec('sh', ['-c', 'echo one; echo two >&2; exit 3']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('one\n');
    expect(result.stderr).toBe('two\n');
    expect(result.tail).toEqual(expect.arrayContaining(['one', 'two']));
    expect(records.map((r) => r.msg)).toEqual(expect.arrayContaining(['one', 'two']));
  });

  it('masks secrets in output, logs and tail', async () => {
    const { exec, records, masker } = setup();
    masker.add('hunter2-secret');
    const result = await exec('echo "token=hunter2-secret"', [], { shell: true });
    expect(result.stdout).toBe('token=***\n');
    expect(JSON.stringify(records)).not.toContain('hunter2-secret');
  });

  it('keeps AWS credentials out of the tool environment unless given explicitly', async () => {
    const base = {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: 'AKIAWORKER',
      AWS_SECRET_ACCESS_KEY: 'worker-secret',
      HOME: '/tmp',
    };
    const { exec } = setup({ EXTRA: 'yes' }, base);
    const result = await exec('env');
    expect(result.stdout).not.toContain('AKIAWORKER');
    expect(result.stdout).not.toContain('worker-secret');
    expect(result.stdout).toContain('EXTRA=yes');
    const withCreds = await exec('env', [], { env: { AWS_ACCESS_KEY_ID: 'AKIAJOB' } });
    expect(withCreds.stdout).toContain('AWS_ACCESS_KEY_ID=AKIAJOB');
  });

  it('kills the whole process tree on timeout', async () => {
    const { exec, cwd } = setup();
    // The grandchild writes its pid and sleeps; the timeout must take it down with its parent.
    const result = await exec('sh', ['-c', 'sh -c "echo $$ > grandchild.pid; sleep 30" & wait'], {
      timeoutMs: 300,
    });
    expect(result.timedOut).toBe(true);
    const pid = Number(readFileSync(join(cwd, 'grandchild.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });

  it('stops the tool when the job is aborted', async () => {
    const { exec, controller } = setup();
    const running = exec('sleep', ['30']);
    setTimeout(() => controller.abort(), 100);
    const result = await running;
    expect(result.aborted).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    await expect(exec('true')).rejects.toThrow(/the job was stopped/);
  });

  it('explains a tool that is not installed', async () => {
    const { exec } = setup();
    await expect(exec('pipewright-no-such-tool')).rejects.toThrow(
      /could not start pipewright-no-such-tool.*PATH/,
    );
  });

  it('feeds input and runs in the given folder', async () => {
    const { exec, cwd } = setup();
    writeFileSync(join(cwd, 'f.txt'), 'content');
    expect((await exec('cat', [], { input: 'piped' })).stdout).toBe('piped\n');
    expect((await exec('cat', ['f.txt'])).stdout).toBe('content\n');
  });
});

describe('Masker', () => {
  it('masks longest secrets first, escaped forms too, and ignores tiny values', () => {
    const m = new Masker();
    m.add('abcd');
    m.add('abcdefgh');
    m.add('a"b c/d');
    m.add('no');
    expect(m.mask('abcdefgh abcd no')).toBe('*** *** no');
    expect(m.mask(JSON.stringify({ v: 'a"b c/d' }))).toBe('{"v":"***"}');
    expect(m.mask(encodeURIComponent('a"b c/d'))).toBe('***');
    expect(m.maskValue({ nested: ['abcd'] })).toEqual({ nested: ['***'] });
  });
});
