import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BIN, cli } from './run-cli.js';

describe('pipewright local', () => {
  it('runs the stack in the foreground, prints endpoints and env exports that other commands use, stops on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'local', '--random-ports', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    try {
      while (!stdout.includes('\n')) await once(child.stdout, 'data');
      const info = JSON.parse(stdout.split('\n')[0]!);
      expect(Object.keys(info.endpoints).sort()).toEqual(['appconfig', 'codepipeline', 'lambda', 's3']);
      expect(info.env).toMatchObject({
        AWS_ENDPOINT_URL_CODEPIPELINE: info.endpoints.codepipeline,
        AWS_ENDPOINT_URL_S3: info.endpoints.s3,
        AWS_ACCESS_KEY_ID: expect.any(String),
      });
      // The exports alone point pipewright (and any SDK) at the stack: no --endpoint needed.
      const run = await cli(['register', '@pipewright/plugin-shell'], {
        env: { ...info.env, AWS_PROFILE: '' },
      });
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('Build/Pipewright-Shell/1 (@pipewright/plugin-shell): registered');
    } finally {
      child.kill('SIGINT');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('explains a port in use', async () => {
    // The first stack takes ports the system picks: a fixed port lies in Linux's ephemeral range, where
    // another test's connection can hold it, and then the first stack, not the second, would fail.
    const first = spawn(process.execPath, [BIN, 'local', '--random-ports', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(first, 'exit');
    let stdout = '';
    first.stdout.on('data', (d) => {
      stdout += d;
    });
    try {
      while (!stdout.includes('\n')) {
        await Promise.race([
          once(first.stdout, 'data'),
          exited.then(([code]) => {
            throw new Error(`the first stack exited with ${code} before printing its endpoints`);
          }),
        ]);
      }
      const port = new URL(JSON.parse(stdout.split('\n')[0]!).endpoints.codepipeline).port;
      const second = await cli(['local', '--port', port]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^error: .*${port}.*\nhint: .*--port`));
    } finally {
      first.kill('SIGINT');
      await exited;
    }
  });
});
