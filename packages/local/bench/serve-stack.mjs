// Runs the local stack in its own process for the benchmark, as `pipewright local` runs it without the CLI
// around it: the parent gets the S3 client configuration over IPC and sends 'stop' when done.
import { startLocalStack } from '../dist/index.js';

const stack = await startLocalStack();
const stop = async () => {
  await stack.stop();
  process.exit(0);
};
process.on('message', (m) => {
  if (m === 'stop') void stop();
  // CPU time used so far, so the benchmark can tell the stack's share of a transfer from the client's.
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
});
process.on('disconnect', () => void stop());
process.send({ s3: stack.clientConfig('s3'), bucket: stack.artifactBucket });
