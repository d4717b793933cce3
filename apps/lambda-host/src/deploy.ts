// `node dist/deploy.mjs template [options]`: prints the CloudFormation template (JSON) for the Lambda host.
import { parseArgs } from 'node:util';
import { selectPlugins } from './plugins.js';
import { cloudFormationTemplate, type LambdaRuntime } from './template.js';

const usage = `usage: node dist/deploy.mjs template [options]

  --plugins <a,b>          plugins to deploy (default: all bundled)
  --code-bucket <bucket>   where dist/lambda.zip is uploaded (default: a template parameter)
  --code-key <key>         its key (default: a template parameter)
  --backup-bucket <bucket> bucket for s3-backup (default: a template parameter)
  --associate-with <arn>   associate every extension with this application, environment or profile
  --param <plugin.NAME=v>  an association parameter, repeatable (e.g. json-schema.Schema={...})
  --function-name <prefix> function name prefix (default pipewright)
  --runtime <runtime>      nodejs24.x (default) or nodejs22.x
`;

export function main(argv: string[]): string {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plugins: { type: 'string' },
      'code-bucket': { type: 'string' },
      'code-key': { type: 'string' },
      'backup-bucket': { type: 'string' },
      'associate-with': { type: 'string' },
      param: { type: 'string', multiple: true },
      'function-name': { type: 'string' },
      runtime: { type: 'string' },
    },
  });
  if (positionals[0] !== 'template') throw new Error(usage);
  const associationParameters: Record<string, Record<string, string>> = {};
  for (const p of values.param ?? []) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(p);
    if (!match) throw new Error(`--param ${p}: expected <plugin>.<NAME>=<value>`);
    const forPlugin = associationParameters[match[1]!] ?? {};
    forPlugin[match[2]!] = match[3]!;
    associationParameters[match[1]!] = forPlugin;
  }
  const template = cloudFormationTemplate({
    plugins: selectPlugins(values.plugins, undefined, '--plugins'),
    ...(values['code-bucket'] ? { codeS3Bucket: values['code-bucket'] } : {}),
    ...(values['code-key'] ? { codeS3Key: values['code-key'] } : {}),
    ...(values['backup-bucket'] ? { backupBucket: values['backup-bucket'] } : {}),
    ...(values['associate-with'] ? { associateWith: values['associate-with'] } : {}),
    ...(values['function-name'] ? { functionName: values['function-name'] } : {}),
    ...(values.runtime ? { runtime: values.runtime as LambdaRuntime } : {}),
    associationParameters,
  });
  return `${JSON.stringify(template, null, 2)}\n`;
}

try {
  process.stdout.write(main(process.argv.slice(2)));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
