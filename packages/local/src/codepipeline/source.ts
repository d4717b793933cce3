import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { zipFolder } from '../zip.js';
import type { Env } from './context.js';
import type { ActionExecutionRecord, ArtifactStore } from './model.js';

/** Runs a built-in source action and resolves with the revision of the artifact it produced. */
export async function runSourceAction(
  env: Env,
  rec: ActionExecutionRecord,
  store: ArtifactStore,
): Promise<string> {
  const out = rec.outputArtifacts[0]!;
  const enc = store.encryptionKey ? { kmsKeyId: store.encryptionKey.id } : {};
  const cfg = rec.resolvedConfiguration;
  if (rec.actionTypeId.provider === 'S3') {
    return env.artifacts.copy(
      { bucket: cfg.S3Bucket!, key: cfg.S3ObjectKey! },
      { bucket: out.bucket, key: out.key },
      enc,
    );
  }
  const folder = cfg.Path!;
  if (!isAbsolute(folder)) throw new Error(`Path must be absolute: ${folder}`);
  const st = await stat(folder).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`Path is not a folder: ${folder}`);
  const dir = await mkdtemp(join(tmpdir(), 'pipewright-source-'));
  try {
    const zip = join(dir, 'source.zip');
    await zipFolder(folder, zip);
    return await env.artifacts.putFile(out.bucket, out.key, zip, enc);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
