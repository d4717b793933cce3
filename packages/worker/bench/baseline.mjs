// The floor the worker is measured against: the bare job protocol with the SDK (poll, acknowledge,
// PutJobSuccessResult) and nothing else: no workspace, no plugin, no logs. Prints {elapsedMs, cpuMs, jobs}.
import {
  AcknowledgeJobCommand,
  CodePipelineClient,
  PollForJobsCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';

const [endpoint, region, category, provider, version, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const client = new CodePipelineClient({ endpoint, region, maxAttempts: 8 });
const actionTypeId = { category, owner: 'Custom', provider, version };
const cpu = process.cpuUsage();
const started = performance.now();
let active = 0;
let done = 0;
const pending = new Set();
for (;;) {
  if (active >= concurrency) {
    await Promise.race(pending);
    continue;
  }
  const { jobs = [] } = await client.send(
    new PollForJobsCommand({ actionTypeId, maxBatchSize: concurrency - active }),
  );
  if (jobs.length === 0 && active === 0) break;
  if (jobs.length === 0) {
    await Promise.race(pending);
    continue;
  }
  for (const job of jobs) {
    active++;
    const p = (async () => {
      await client.send(new AcknowledgeJobCommand({ jobId: job.id, nonce: job.nonce }));
      await client.send(
        new PutJobSuccessResultCommand({ jobId: job.id, executionDetails: { summary: 'ok' } }),
      );
      done++;
    })().finally(() => {
      active--;
      pending.delete(p);
    });
    pending.add(p);
  }
}
const used = process.cpuUsage(cpu);
client.destroy();
process.stdout.write(
  `${JSON.stringify({ elapsedMs: Math.round(performance.now() - started), cpuMs: Math.round((used.user + used.system) / 1000), succeeded: done })}\n`,
);
