import type { PipelineDeclaration } from '@aws-sdk/client-codepipeline';
import { shellBuild } from '@pipewright/plugin-shell';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from './errors.js';
import { addAction, availableArtifacts, jsonDiff } from './pipeline-edit.js';

const pipeline = (): PipelineDeclaration => ({
  name: 'MyFirstPipeline',
  roleArn: 'arn:aws:iam::111122223333:role/pipeline',
  artifactStore: { type: 'S3', location: 'bucket' },
  version: 1,
  stages: [
    {
      name: 'Source',
      actions: [
        {
          name: 'Source',
          actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
          outputArtifacts: [{ name: 'MyApp' }],
          configuration: { S3Bucket: 'b', S3ObjectKey: 'k' },
          runOrder: 1,
        },
      ],
    },
    {
      name: 'Staging',
      actions: [
        {
          name: 'Deploy',
          actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
          inputArtifacts: [{ name: 'MyBuiltApp' }],
          runOrder: 1,
        },
      ],
    },
  ],
});

describe('addAction', () => {
  it("reproduces the seed's MyBuildStage insertion before Staging", () => {
    const after = addAction(pipeline(), {
      stage: 'MyBuildStage',
      createStage: true,
      before: 'Staging',
      plugin: shellBuild,
      name: 'MyBuildCustomAction',
      config: { Command: 'make' },
      inputs: ['MyApp'],
      outputs: ['MyBuiltApp'],
    });
    expect(after.stages?.map((s) => s.name)).toEqual(['Source', 'MyBuildStage', 'Staging']);
    expect(after.stages?.[1]?.actions).toEqual([
      {
        name: 'MyBuildCustomAction',
        actionTypeId: { category: 'Build', owner: 'Custom', provider: 'Pipewright-Shell', version: '1' },
        runOrder: 1,
        configuration: { Command: 'make' },
        inputArtifacts: [{ name: 'MyApp' }],
        outputArtifacts: [{ name: 'MyBuiltApp' }],
      },
    ]);
  });

  it('defaults runOrder to after the last action and keeps the input pipeline untouched', () => {
    const before = pipeline();
    const after = addAction(before, {
      stage: 'Staging',
      plugin: shellBuild,
      config: { Command: 'ls' },
      inputs: ['MyApp'],
    });
    expect(after.stages?.[1]?.actions?.[1]).toMatchObject({ name: 'Pipewright-Shell', runOrder: 2 });
    expect(before.stages?.[1]?.actions).toHaveLength(1);
  });

  it('refuses an input no earlier action produces, naming the ones that exist', () => {
    const p = pipeline();
    expect(() =>
      addAction(p, { stage: 'Staging', plugin: shellBuild, config: { Command: 'ls' }, inputs: ['Nope'] }),
    ).toThrow(/input artifact Nope is not produced/);
    try {
      addAction(p, { stage: 'Staging', plugin: shellBuild, config: { Command: 'ls' }, inputs: ['Nope'] });
    } catch (e) {
      expect((e as CliError).hint).toContain('MyApp');
    }
  });

  it('sees outputs of the same stage only at a lower runOrder', () => {
    const p = addAction(pipeline(), {
      stage: 'Staging',
      plugin: shellBuild,
      config: { Command: 'ls' },
      runOrder: 1,
      outputs: ['Same'],
    });
    expect(availableArtifacts(p, 1, 1)).toEqual(['MyApp']);
    expect(availableArtifacts(p, 1, 2)).toEqual(['MyApp', 'Same']);
  });

  it('reports a missing stage, a duplicate output, a taken name, the first stage and bad config', () => {
    const p = pipeline();
    const base = { plugin: shellBuild, config: { Command: 'ls' } };
    expect(() => addAction(p, { ...base, stage: 'Build' })).toThrow(
      /stage Build not found .*Source, Staging/,
    );
    expect(() => addAction(p, { ...base, stage: 'Staging', outputs: ['MyApp'] })).toThrow(/already exists/);
    expect(() => addAction(p, { ...base, stage: 'Staging', name: 'Deploy' })).toThrow(
      /already has an action named Deploy/,
    );
    expect(() => addAction(p, { ...base, stage: 'Source' })).toThrow(/first stage/);
    expect(() => addAction(p, { ...base, stage: 'B', createStage: true, before: 'Nope' })).toThrow(CliError);
    expect(() => addAction(p, { ...base, stage: 'Staging', outputs: ['A', 'B'] })).toThrow(UsageError);
    expect(() => addAction(p, { plugin: shellBuild, stage: 'Staging', config: { Colour: 'red' } })).toThrow(
      /Command: is required|Colour/,
    );
  });
});

describe('artifact counts', () => {
  it('names the artifacts a missing input could be', async () => {
    const { definePlugin, z } = await import('@pipewright/core');
    const needsInput = definePlugin({
      name: 'needs-input',
      version: '1.0.0',
      description: 'x',
      config: z.object({}),
      action: {
        category: 'Test',
        provider: 'Needs-Input',
        version: '1',
        inputArtifacts: { minimum: 1, maximum: 1 },
        run() {},
      },
    });
    try {
      addAction(pipeline(), { stage: 'Staging', plugin: needsInput, config: {} });
      expect.unreachable();
    } catch (e) {
      expect((e as UsageError).message).toBe('needs-input takes 1 input artifact, 0 given');
      expect((e as UsageError).hint).toBe('pass --input <artifact> 1 time(s); available: MyApp');
    }
    expect(() =>
      addAction(pipeline(), {
        stage: 'Staging',
        plugin: needsInput,
        config: {},
        inputs: ['MyApp'],
        outputs: ['X'],
      }),
    ).toThrow(/takes 0 output artifacts, 1 given/);
  });
});

describe('jsonDiff', () => {
  it('shows added lines with context', () => {
    const d = jsonDiff({ a: 1, b: [1] }, { a: 1, b: [1, 2] });
    expect(d).toContain('+     2');
    expect(d).toContain('-     1');
  });
});
