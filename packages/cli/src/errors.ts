import { ConfigurationError, PluginDefinitionError } from '@pipewright/core';

/** An error the CLI explains: a one-line cause, a hint, and the exit code (1 failure, 2 usage). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: 1 | 2 = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad arguments: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
  }
}

interface AwsLikeError {
  name?: string;
  message?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

/** Explains any error as one line and a hint. */
export function explain(error: unknown): { message: string; hint?: string; exitCode: 1 | 2 } {
  if (error instanceof CliError) {
    return { message: error.message, ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode };
  }
  if (error instanceof PluginDefinitionError || (error as Error)?.name === 'PluginDefinitionError') {
    const e = error as PluginDefinitionError;
    return {
      message: `plugin ${e.plugin} breaks an AWS limit: ${e.problems.join('; ')}`,
      hint: 'fix the definition in the plugin source; definePlugin checks every limit CodePipeline and AppConfig enforce',
      exitCode: 1,
    };
  }
  if (error instanceof ConfigurationError) {
    return {
      message: `invalid configuration: ${error.problems.map((p) => `${p.property} ${p.message}`).join('; ')}`,
      hint: 'pass each property as --config Name=Value; `pipewright pipeline add-action --help` lists the options',
      exitCode: 2,
    };
  }
  const e = (error ?? {}) as AwsLikeError;
  const name = e.name ?? e.Code ?? e.code ?? 'Error';
  const message = oneLine(String(e.message ?? error));
  const status = e.$metadata?.httpStatusCode;
  if (
    /AccessDenied|UnauthorizedOperation|NotAuthorized|UnrecognizedClient|InvalidSignature|SignatureDoesNotMatch/i.test(
      name,
    )
  ) {
    return {
      message: `AWS refused the request (${name}): ${message}`,
      hint: 'check the credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that their policy allows this call',
      exitCode: 1,
    };
  }
  if (/Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/i.test(name) || status === 429) {
    return {
      message: `AWS throttled the request (${name}): ${message}`,
      hint: 'wait a moment and run the command again; it is safe to repeat',
      exitCode: 1,
    };
  }
  if (/CredentialsProviderError|Could not load credentials/i.test(`${name} ${message}`)) {
    return {
      message: `no AWS credentials found: ${message}`,
      hint: 'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for the local stack, use the keys `pipewright local` prints)',
      exitCode: 1,
    };
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(
      `${name} ${message} ${(error as { code?: string })?.code ?? ''}`,
    )
  ) {
    return {
      message: `cannot reach the AWS endpoint: ${message}`,
      hint: 'check --endpoint and --region; for the local stack, start it with `pipewright local`',
      exitCode: 1,
    };
  }
  if ((error as { code?: string })?.code === 'EADDRINUSE') {
    return {
      message: `a port is already in use: ${message}`,
      hint: 'another local stack may be running; pick other ports with --port <n> or --random-ports',
      exitCode: 1,
    };
  }
  if (/Validation|BadRequest|InvalidParameter/i.test(name)) {
    return {
      message: `AWS rejected the request (${name}): ${message}`,
      hint: 'the message names the field; run with --dry-run to see the request, or --debug for details',
      exitCode: 1,
    };
  }
  if (/NotFound/i.test(name)) {
    return {
      message: `not found (${name}): ${message}`,
      hint: 'check the name and --region (and --endpoint when using the local stack)',
      exitCode: 1,
    };
  }
  return {
    message: name === 'Error' ? message : `${name}: ${message}`,
    hint: 'run again with --debug for the stack trace',
    exitCode: 1,
  };
}
