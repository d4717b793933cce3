#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS, startLocalStack } from './stack.js';

/** `pipewright-local`: runs the local stack in the foreground on fixed ports until SIGINT/SIGTERM. */

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'codepipeline-port': { type: 'string', default: String(DEFAULT_PORTS.codepipeline) },
    's3-port': { type: 'string', default: String(DEFAULT_PORTS.s3) },
    'appconfig-port': { type: 'string', default: String(DEFAULT_PORTS.appconfig) },
    'lambda-port': { type: 'string', default: String(DEFAULT_PORTS.lambda) },
    region: { type: 'string', default: 'us-east-1' },
    'persist-dir': { type: 'string' },
    'external-s3': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`Usage: pipewright-local [options]

  --host <addr>               interface to listen on (default 127.0.0.1)
  --codepipeline-port <n>     CodePipeline port (default ${DEFAULT_PORTS.codepipeline}; 0 picks a free one)
  --s3-port <n>               S3 port (default ${DEFAULT_PORTS.s3})
  --appconfig-port <n>        AppConfig port (default ${DEFAULT_PORTS.appconfig})
  --lambda-port <n>           Lambda port (default ${DEFAULT_PORTS.lambda})
  --region <region>           region (default us-east-1)
  --persist-dir <dir>         keep state and objects in <dir> across restarts
  --external-s3 <url>         keep artifacts in this S3 endpoint instead (e.g. moto_server)`);
  process.exit(0);
}

const stack = await startLocalStack({
  host: values.host!,
  region: values.region!,
  ports: {
    codepipeline: Number(values['codepipeline-port']),
    s3: Number(values['s3-port']),
    appconfig: Number(values['appconfig-port']),
    lambda: Number(values['lambda-port']),
  },
  ...(values['persist-dir'] ? { persistDir: values['persist-dir'] } : {}),
  ...(values['external-s3'] ? { externalS3: { endpoint: values['external-s3'] } } : {}),
});

const lines = [
  'pipewright local stack is running',
  ...Object.entries(stack.endpoints).map(([name, url]) => `  ${name.padEnd(13)} ${url}`),
  `  region        ${stack.region}`,
  `  account       ${stack.accountId}`,
  `  bucket        ${stack.artifactBucket}`,
  '',
  'Point the AWS SDK or CLI at it:',
  ...Object.entries(stack.endpoints).map(
    ([name, url]) => `  export AWS_ENDPOINT_URL_${name.toUpperCase()}=${url}`,
  ),
  `  export AWS_REGION=${stack.region}`,
  `  export AWS_ACCESS_KEY_ID=${stack.credentials.accessKeyId}`,
  `  export AWS_SECRET_ACCESS_KEY=${stack.credentials.secretAccessKey}`,
  '',
  'Press Ctrl+C to stop.',
];
console.log(lines.join('\n'));

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping`);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
