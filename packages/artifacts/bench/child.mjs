// One measured operation in its own process, so its peak RSS (maxRSS) is the extraction's or upload's alone.
// Usage: node child.mjs download <bucket> <key> <destDir> | upload <srcDir> <bucket> <key>
// Reads the S3 client configuration from PW_S3_CONFIG (JSON) and prints {ms, maxRssMiB, result}.
// PW_LEVEL sets the deflate level; PW_PART and PW_QUEUE the multipart part size and parallelism; PW_THREADS
// the deflating threads;
// PW_YOUNG=default leaves V8's young generation as V8 sizes it, PW_TURBOFAN=on lets V8 use Turbofan (the
// worker limits the one and leaves out the other by default).
import { limitYoungGeneration, skipTurbofan } from '../dist/process-memory.js';

// First, before the SDK loads and grows the young generation (see limitYoungGeneration).
if (process.env.PW_YOUNG !== 'default') limitYoungGeneration();
if (process.env.PW_TURBOFAN !== 'on') skipTurbofan();
const { createArtifactClient, downloadArtifact, uploadArtifact } = await import('../dist/index.js');
const [op, ...args] = process.argv.slice(2);
const s3 = createArtifactClient(JSON.parse(process.env.PW_S3_CONFIG));
const started = performance.now();
let result;
if (op === 'download') {
  const [bucket, key, dest] = args;
  result = await downloadArtifact(s3, { bucket, key }, dest);
} else {
  const [src, bucket, key] = args;
  result = await uploadArtifact(
    s3,
    src,
    { bucket, key },
    {
      compressionLevel: Number(process.env.PW_LEVEL ?? 6),
      ...(process.env.PW_PART ? { partSize: Number(process.env.PW_PART) } : {}),
      ...(process.env.PW_QUEUE ? { queueSize: Number(process.env.PW_QUEUE) } : {}),
      ...(process.env.PW_THREADS ? { threads: Number(process.env.PW_THREADS) } : {}),
    },
  );
}
const ms = performance.now() - started;
s3.destroy();
process.stdout.write(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, result }));
