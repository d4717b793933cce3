import { existsSync } from 'node:fs';
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationTable } from '@pipewright/core';
import { runPluginAction } from '@pipewright/testkit';
import { describe, expect, it } from 'vitest';
import shell, { shellBuild, shellPlugin, shellTest } from './index.js';

describe('@pipewright/plugin-shell', () => {
  it('defines one action type per category', () => {
    expect(shell).toBe(shellBuild);
    expect(shellBuild.action?.category).toBe('Build');
    expect(shellTest.action?.category).toBe('Test');
    expect(shellPlugin({ category: 'Deploy', version: '2' }).action).toMatchObject({
      category: 'Deploy',
      provider: 'Pipewright-Shell',
      version: '2',
    });
    expect(shellBuild.warnings).toEqual([]);
  });

  it('runs the command in the input artifact and collects the output folder with modes and links', async () => {
    const run = await runPluginAction(shellBuild, {
      config: {
        Command:
          'mkdir -p dist && cp hello.txt dist/ && printf "#!/bin/sh\\necho hi\\n" > dist/run.sh && chmod 755 dist/run.sh && ln -s hello.txt dist/link && echo built $PIPEWRIGHT_PIPELINE',
        OutputDirectory: 'dist',
      },
      inputs: { Source: { 'hello.txt': 'hello' } },
      outputs: ['Built'],
    });
    try {
      expect(run.result).toMatchObject({ status: 'succeeded', outputVariables: { ExitCode: '0' } });
      expect(run.result.status === 'succeeded' && run.result.summary).toContain('built test-pipeline');
      const out = run.outputs.Built!;
      expect(await readFile(join(out, 'hello.txt'), 'utf8')).toBe('hello');
      expect((await stat(join(out, 'run.sh'))).mode & 0o777).toBe(0o755);
      expect((await lstat(join(out, 'link'))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(out, 'link'))).toBe('hello.txt');
    } finally {
      await run.cleanup();
    }
  });

  it('moves the output folder into the artifact, and copies it when the artifact already has files', async () => {
    // The command notes where it ran and the inode of the file it built: a moved file keeps its inode.
    const build =
      'mkdir -p dist && echo one > dist/a.txt && chmod 640 dist/a.txt && ln -s a.txt dist/link && set -- $(ls -i dist/a.txt) && echo $1 > dist/inode && pwd > dist/where';
    for (const alsoWritesOutput of [false, true]) {
      const run = await runPluginAction(shellBuild, {
        config: {
          Command: alsoWritesOutput ? `${build} && echo two > "$PIPEWRIGHT_OUTPUT/b.txt"` : build,
          OutputDirectory: 'dist',
        },
        inputs: { Source: { 'hello.txt': 'hello' } },
        outputs: ['Built'],
      });
      try {
        expect(run.result.status).toBe('succeeded');
        const out = run.outputs.Built!;
        expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('one\n');
        expect((await stat(join(out, 'a.txt'))).mode & 0o777).toBe(0o640);
        expect(await readlink(join(out, 'link'))).toBe('a.txt');
        const inode = Number(await readFile(join(out, 'inode'), 'utf8'));
        const dist = join((await readFile(join(out, 'where'), 'utf8')).trim(), 'dist');
        if (alsoWritesOutput) {
          // Both kept: what the command wrote to the artifact, and a copy of dist, which stays.
          expect(await readFile(join(out, 'b.txt'), 'utf8')).toBe('two\n');
          expect((await stat(join(out, 'a.txt'))).ino).not.toBe(inode);
          expect(existsSync(dist)).toBe(true);
        } else {
          expect((await stat(join(out, 'a.txt'))).ino).toBe(inode);
          expect(existsSync(dist)).toBe(false);
        }
      } finally {
        await run.cleanup();
      }
    }
  });

  it('runs in WorkingDirectory with the configured shell', async () => {
    const run = await runPluginAction(shellTest, {
      config: {
        Command: 'test -n "$BASH_VERSION" && echo bash; pwd',
        WorkingDirectory: 'sub',
        Shell: '/bin/bash',
      },
      inputs: { Source: { 'sub/a.txt': 'a' } },
    });
    await run.cleanup();
    expect(run.result.status).toBe('succeeded');
    const summary = run.result.status === 'succeeded' ? (run.result.summary ?? '') : '';
    expect(summary).toContain('bash');
    expect(summary).toMatch(/\/sub$/m);
  });

  it('fails with the exit code and the last lines of output', async () => {
    const run = await runPluginAction(shellBuild, {
      config: { Command: 'for i in $(seq 1 100); do echo line $i; done; echo broken >&2; exit 3' },
      inputs: { Source: { 'a.txt': 'a' } },
    });
    await run.cleanup();
    expect(run.result.status).toBe('failed');
    const message = run.result.status === 'failed' ? run.result.message : '';
    expect(message).toContain('exited with code 3');
    expect(message).toContain('broken');
    expect(message).toContain('line 100');
    expect(message).not.toContain('line 50\n');
  });

  it('kills a command that runs past TimeoutSeconds', async () => {
    const started = Date.now();
    const run = await runPluginAction(shellBuild, {
      config: { Command: 'echo waiting; sleep 30', TimeoutSeconds: 1 },
    });
    await run.cleanup();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.result).toMatchObject({ status: 'failed' });
    expect(run.result.status === 'failed' && run.result.message).toContain('timed out after 1 s');
  });

  it('refuses paths that leave the artifact and lists every problem', async () => {
    const run = await runPluginAction(shellBuild, {
      config: { WorkingDirectory: '../etc', OutputDirectory: '/tmp', TimeoutSeconds: 'soon' },
    });
    await run.cleanup();
    expect(run.result).toMatchObject({ status: 'failed', failureType: 'ConfigurationError' });
    const message = run.result.status === 'failed' ? run.result.message : '';
    for (const property of ['Command', 'WorkingDirectory', 'OutputDirectory', 'TimeoutSeconds']) {
      expect(message).toContain(property);
    }
  });

  it('fails when the output folder is missing', async () => {
    const run = await runPluginAction(shellBuild, {
      config: { Command: 'true', OutputDirectory: 'dist' },
      inputs: { Source: { 'a.txt': 'a' } },
      outputs: ['Built'],
    });
    await run.cleanup();
    expect(run.result.status === 'failed' && run.result.message).toContain(
      'OutputDirectory dist does not exist',
    );
  });

  it('documents its configuration in the README', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    // The formatter aligns markdown tables, so compare cell contents rather than padding.
    const cells = (text: string) => text.replace(/[ \t]*\|[ \t]*/g, '|').replace(/\|-{3,}(?=\|)/g, '|---');
    expect(cells(readme)).toContain(cells(configurationTable(shellBuild)));
  });
});
