import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { shellBuild } from '@pipewright/plugin-shell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../src/index.js';
import { customAction, type Harness, harness, sourceAction } from './helpers.js';

/**
 * A proxy in front of the local CodePipeline that lets the first call of an operation through and then cuts
 * the connection instead of returning the answer: the call landed, the worker never heard.
 */
async function lossyProxy(target: string, operation: string) {
  const upstream = new URL(target);
  let dropped = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c) => body.push(c));
          answer.on('end', () => {
            if (req.headers['x-amz-target'] === `CodePipeline_20150709.${operation}` && dropped === 0) {
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dropped: () => dropped,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('a result whose response is lost', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await h.register(shellBuild);
  });
  afterAll(() => h?.close());

  for (const [operation, after] of [
    ['PutJobSuccessResult', 'InvalidJobStateException'],
    ['AcknowledgeJob', 'InvalidNonceException'],
  ] as const) {
    it(`${operation}: retried, meets ${after}, and the job still runs and is reported once`, async () => {
      const proxy = await lossyProxy(h.stack.endpoints.codepipeline, operation);
      const name = `lossy-${operation}`;
      try {
        await h.pipeline(name, [
          { name: 'Source', actions: [sourceAction(h.tmp)] },
          {
            name: 'Build',
            actions: [
              customAction(shellBuild, 'Build', { Command: 'echo done' }, { inputs: ['SourceOutput'] }),
            ],
          },
        ]);
        const id = await h.start(name);
        const worker = createWorker(
          h.workerOptions({ plugins: [shellBuild], endpoint: proxy.endpoint, mode: 'serve' }),
        );
        const running = worker.run();
        expect(await h.waitFor(name, id)).toBe('Succeeded');
        worker.stop();
        const summary = await running;
        expect(proxy.dropped()).toBe(1);
        expect(summary.jobs.map((j) => j.status)).toEqual(['succeeded']);
        const jobs = [...h.stack.state.codepipeline.jobs.values()].filter(
          (j) => j.pipelineExecutionId === id,
        );
        expect(jobs.map((j) => j.status)).toEqual(['Succeeded']);
      } finally {
        await proxy.close();
      }
    });
  }
});
