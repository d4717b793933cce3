// A probe bundled with the Lambda host's build options (see bundle-plugins.test.ts): each line reports what
// one of the esbuild plugins in scripts/esbuild-plugins.mjs changed, as seen from inside the built file.
import { randomInt } from 'node:crypto';
import { z } from '@pipewright/core';

const loaded = (name: string) =>
  (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes(`NativeModule ${name}`);

const report: Record<string, unknown> = { cryptoAtStart: loaded('crypto') };
const n = randomInt(0, 10);
report.cryptoAfterCall = loaded('crypto');
report.randomInt = Number.isInteger(n) && n >= 0 && n < 10;

const schema = z.object({ port: z.number().int() });
report.parses = schema.safeParse({ port: 1 }).success && !schema.safeParse({ port: 'x' }).success;
try {
  schema.toJSONSchema();
  report.toJSONSchema = 'converted';
} catch (error) {
  report.toJSONSchema = (error as Error).message;
}

const lazy = await import('./lazy.js');
report.lazy = lazy.double(21);

process.stdout.write(JSON.stringify(report));
