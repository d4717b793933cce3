import type { ActionDeclaration, PipelineDeclaration, StageDeclaration } from '@aws-sdk/client-codepipeline';
import { type AnyPlugin, actionTypeId, parseConfig } from '@pipewright/core';
import { CliError, UsageError } from './errors.js';

export interface AddActionRequest {
  stage: string;
  plugin: AnyPlugin;
  config: Record<string, string>;
  name?: string;
  runOrder?: number;
  inputs?: string[];
  outputs?: string[];
  namespace?: string;
  /** Create the stage when it does not exist. */
  createStage?: boolean;
  /** With createStage: the stage the new stage goes before (default: last). */
  before?: string;
}

const NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;

/** Artifacts an action may consume: outputs of earlier stages, and of lower runOrders in its own stage. */
export function availableArtifacts(
  pipeline: PipelineDeclaration,
  stageIndex: number,
  runOrder: number,
): string[] {
  const names: string[] = [];
  (pipeline.stages ?? []).forEach((stage, i) => {
    if (i > stageIndex) return;
    for (const action of stage.actions ?? []) {
      if (i === stageIndex && (action.runOrder ?? 1) >= runOrder) continue;
      for (const a of action.outputArtifacts ?? []) if (a.name) names.push(a.name);
    }
  });
  return names;
}

/**
 * Returns a copy of `pipeline` with the plugin's action inserted, after checking what CodePipeline
 * checks (names, artifact flow, runOrder, artifact counts, configuration) so that the error is ours and clear.
 */
export function addAction(pipeline: PipelineDeclaration, request: AddActionRequest): PipelineDeclaration {
  const { plugin } = request;
  if (!plugin.action) {
    throw new CliError(
      `${plugin.name} defines no CodePipeline custom action`,
      'pick a plugin that defines `action`',
    );
  }
  const next = structuredClone(pipeline) as PipelineDeclaration;
  if (!next.stages) next.stages = [];
  const stages = next.stages;
  let stageIndex = stages.findIndex((s) => s.name === request.stage);
  if (stageIndex < 0) {
    const names = stages.map((s) => s.name).join(', ');
    if (!request.createStage) {
      throw new CliError(
        `stage ${request.stage} not found in pipeline ${pipeline.name} (stages: ${names})`,
        `add --create-stage [--before <stage>] to create it, or pick one of: ${names}`,
      );
    }
    if (!NAME.test(request.stage)) {
      throw new UsageError(`stage name ${request.stage} is not 1-100 of A-Z a-z 0-9 . @ - _`);
    }
    let at = stages.length;
    if (request.before !== undefined) {
      at = stages.findIndex((s) => s.name === request.before);
      if (at < 0) {
        throw new CliError(
          `stage ${request.before} (--before) not found in pipeline ${pipeline.name}`,
          `pick one of: ${names}`,
        );
      }
      if (at === 0) {
        throw new CliError(
          'a new stage cannot go before the first stage',
          'the first stage holds only source actions; pick a later stage',
        );
      }
    }
    stages.splice(at, 0, { name: request.stage, actions: [] });
    stageIndex = at;
  } else if (request.before !== undefined) {
    throw new UsageError(
      `stage ${request.stage} already exists; --before only places a stage --create-stage creates`,
    );
  }
  if (stageIndex === 0) {
    throw new CliError(
      `stage ${request.stage} is the pipeline's first stage, which holds only source actions`,
      'add the action to a later stage',
    );
  }
  const stage = stages[stageIndex] as StageDeclaration;
  if (!stage.actions) stage.actions = [];
  const actions = stage.actions;

  const name = request.name ?? plugin.action.provider;
  if (!NAME.test(name)) throw new UsageError(`action name ${name} is not 1-100 of A-Z a-z 0-9 . @ - _`);
  if (actions.some((a) => a.name === name)) {
    throw new CliError(
      `stage ${stage.name} already has an action named ${name}`,
      'choose another with --name',
    );
  }

  const runOrder = request.runOrder ?? Math.max(0, ...actions.map((a) => a.runOrder ?? 1)) + 1;
  if (!Number.isInteger(runOrder) || runOrder < 1 || runOrder > 999) {
    throw new UsageError(`--run-order ${runOrder} is not a whole number from 1 to 999`);
  }

  // Configuration: the plugin's own schema decides, reporting every problem at once.
  parseConfig(plugin.name, plugin.config, request.config, 'action');

  const inputs = request.inputs ?? [];
  const outputs = request.outputs ?? [];
  const available = availableArtifacts(next, stageIndex, runOrder);
  const counts = (
    what: string,
    given: number,
    limits: { minimum: number; maximum: number } | undefined,
    flag: string,
  ) => {
    const min = limits?.minimum ?? 0;
    const max = limits?.maximum ?? 0;
    if (given < min || given > max) {
      const range = min === max ? `${min}` : `${min} to ${max}`;
      const choices =
        what === 'input' && given < min && available.length > 0 ? `; available: ${available.join(', ')}` : '';
      throw new UsageError(
        `${plugin.name} takes ${range} ${what} artifact${max === 1 ? '' : 's'}, ${given} given`,
        max === 0 ? `drop ${flag}` : `pass ${flag} <artifact> ${range} time(s)${choices}`,
      );
    }
  };
  counts('input', inputs.length, plugin.action.inputArtifacts, '--input');
  counts('output', outputs.length, plugin.action.outputArtifacts, '--output');

  for (const input of inputs) {
    if (!available.includes(input)) {
      throw new CliError(
        `input artifact ${input} is not produced by any earlier action in pipeline ${pipeline.name}`,
        available.length > 0
          ? `artifacts available to runOrder ${runOrder} of stage ${stage.name}: ${available.join(', ')}`
          : 'no earlier action produces an artifact; add one first, or drop --input',
      );
    }
  }
  const allOutputs = stages.flatMap((s) =>
    (s.actions ?? []).flatMap((a) => (a.outputArtifacts ?? []).map((o) => o.name)),
  );
  for (const output of outputs) {
    if (!NAME.test(output))
      throw new UsageError(`artifact name ${output} is not 1-100 of A-Z a-z 0-9 . @ - _`);
    if (allOutputs.includes(output) || outputs.indexOf(output) !== outputs.lastIndexOf(output)) {
      throw new CliError(
        `output artifact ${output} already exists in pipeline ${pipeline.name}`,
        'output artifact names are unique within a pipeline: choose another --output',
      );
    }
  }

  const action: ActionDeclaration = {
    name,
    actionTypeId: actionTypeId(plugin),
    runOrder,
    configuration: request.config,
    inputArtifacts: inputs.map((n) => ({ name: n })),
    outputArtifacts: outputs.map((n) => ({ name: n })),
    ...(request.namespace ? { namespace: request.namespace } : {}),
  };
  actions.push(action);
  actions.sort((a, b) => (a.runOrder ?? 1) - (b.runOrder ?? 1));
  return next;
}

/** A line diff of two JSON values (unified style, three lines of context). */
export function jsonDiff(before: unknown, after: unknown): string {
  const a = JSON.stringify(before, null, 2).split('\n');
  const b = JSON.stringify(after, null, 2).split('\n');
  // LCS table; pipelines are small enough.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines: { op: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ op: ' ', text: a[i++]! });
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      lines.push({ op: '+', text: b[j++]! });
    } else {
      lines.push({ op: '-', text: a[i++]! });
    }
  }
  const keep = new Set<number>();
  lines.forEach((l, k) => {
    if (l.op !== ' ')
      for (let c = Math.max(0, k - 3); c <= Math.min(lines.length - 1, k + 3); c++) keep.add(c);
  });
  const out: string[] = [];
  let last = -1;
  for (const k of [...keep].sort((x, y) => x - y)) {
    if (k !== last + 1) out.push('@@');
    out.push(`${lines[k]!.op} ${lines[k]!.text}`);
    last = k;
  }
  return out.join('\n');
}
