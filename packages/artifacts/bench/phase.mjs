import { startLocalStack } from '@pipewright/local';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createReadStream, statSync, rmSync, promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
const stack = await startLocalStack();
const cfg = stack.clientConfig('s3');
const { createArtifactClient } = await import('../dist/index.js');
const s3 = createArtifactClient(cfg);
await s3.send(new PutObjectCommand({ Bucket: stack.artifactBucket, Key: 'b.zip', Body: createReadStream('/tmp/pw-big/big.zip'), ContentLength: statSync('/tmp/pw-big/big.zip').size, ServerSideEncryption: 'aws:kms' }));
const code = `
import { createArtifactClient } from '/work/main/packages/artifacts/dist/index.js';
import { s3Body } from '/work/main/packages/artifacts/dist/s3-body.js';
import { promises as fs } from 'node:fs';
const s3 = createArtifactClient(JSON.parse(process.env.CFG));
let t = performance.now(); const fh = await fs.open('/tmp/pw-big/spool.zip', 'w'); let n = 0;
for await (const c of s3Body(s3, { bucket: process.env.B, key: 'b.zip' })) { n += c.length; await fh.write(c); }
await fh.close(); console.log('spool', n, (performance.now() - t) | 0, 'ms');
`;
await new Promise((r) => { const p = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, CFG: JSON.stringify(cfg), B: stack.artifactBucket }, stdio: ['ignore', 'inherit', 'ignore'] }); p.on('close', r); });
const t = performance.now();
await new Promise((r) => { const p = spawn('curl', ['-sS', '--aws-sigv4', `aws:amz:${cfg.region}:s3`, '--user', `${cfg.credentials.accessKeyId}:${cfg.credentials.secretAccessKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-o', '/tmp/pw-big/curl.zip', `${cfg.endpoint}/${stack.artifactBucket}/b.zip`]); p.on('close', r); });
console.log('curl', (performance.now() - t) | 0, 'ms');
await stack.stop();
