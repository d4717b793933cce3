import {
  AcknowledgeJobCommand,
  GetPipelineExecutionCommand,
  type Job,
  PollForJobsCommand,
  PutJobSuccessResultCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codepipeline, startDemo, until } from '../__fixtures__/pipeline.js';
import { type LocalStack, startLocalStack } from '../stack.js';

let stack: LocalStack;
let cp: ReturnType<typeof codepipeline>;

beforeAll(async () => {
  stack = await startLocalStack();
  cp = codepipeline(stack);
});
afterAll(() => stack.stop());

const status = async (pipelineName: string, pipelineExecutionId: string) =>
  (await cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }))).pipelineExecution
    ?.status;

async function finish(job: Job): Promise<void> {
  await cp.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
  await cp.send(new PutJobSuccessResultCommand({ jobId: job.id }));
}

describe('execution modes', () => {
  it('PARALLEL (the local default): executions run side by side', async () => {
    const demo = await startDemo(stack, cp);
    await cp.send(new StartPipelineExecutionCommand({ name: demo.name }));
    const jobs = await until(async () => {
      const r = await cp.send(new PollForJobsCommand({ actionTypeId: demo.actionTypeId, maxBatchSize: 5 }));
      return r.jobs?.length ? r.jobs : undefined;
    });
    const more = await until(async () => {
      const r = await cp.send(new PollForJobsCommand({ actionTypeId: demo.actionTypeId, maxBatchSize: 5 }));
      return jobs.length + (r.jobs?.length ?? 0) >= 2 ? r.jobs : undefined;
    });
    expect(jobs.length + more.length).toBe(2);
  });

  it('QUEUED: one execution per stage, the others wait their turn in order', async () => {
    const demo = await startDemo(stack, cp, { executionMode: 'QUEUED' });
    const second = (await cp.send(new StartPipelineExecutionCommand({ name: demo.name })))
      .pipelineExecutionId!;
    const first = await demo.poll();
    expect(first.data?.pipelineContext?.pipelineExecutionId).toBe(demo.executionId);
    await new Promise((r) => setTimeout(r, 50));
    expect(
      (await cp.send(new PollForJobsCommand({ actionTypeId: demo.actionTypeId, maxBatchSize: 5 }))).jobs,
    ).toEqual([]);
    await finish(first);
    expect(await status(demo.name, demo.executionId!)).toBe('Succeeded');
    const next = await demo.poll();
    expect(next.data?.pipelineContext?.pipelineExecutionId).toBe(second);
    await finish(next);
    expect(await status(demo.name, second)).toBe('Succeeded');
  });

  it('SUPERSEDED: a newer execution replaces an older one waiting at the same stage', async () => {
    const demo = await startDemo(stack, cp, { executionMode: 'SUPERSEDED' });
    const running = await demo.poll();
    const waiting = (await cp.send(new StartPipelineExecutionCommand({ name: demo.name })))
      .pipelineExecutionId!;
    await until(async () =>
      stack.state.codepipeline.executions.get(waiting)?.stageIndex === 1 ? true : undefined,
    );
    const newest = (await cp.send(new StartPipelineExecutionCommand({ name: demo.name })))
      .pipelineExecutionId!;
    await until(async () => ((await status(demo.name, waiting)) === 'Superseded' ? true : undefined));
    await finish(running);
    const next = await demo.poll();
    expect(next.data?.pipelineContext?.pipelineExecutionId).toBe(newest);
    await finish(next);
    expect(await status(demo.name, newest)).toBe('Succeeded');
  });
});
