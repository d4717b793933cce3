import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { close as closeServer, listen } from '../http.js';
import { type InvocationResult, type InvokeOptions, RunnerPool } from './pool.js';
import {
  type FunctionDefinition,
  FunctionNotFoundError,
  FunctionRegistry,
  type RegisteredFunction,
} from './registry.js';

export interface LambdaServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  /** Functions to register before the server starts. */
  functions?: FunctionDefinition[];
  /** Keep runner processes warm between invocations (default true). `false` forks one process per invocation. */
  warm?: boolean;
  /** Idle runners kept per function (default 2). */
  maxIdlePerFunction?: number;
  /** Environment every function gets, e.g. AWS endpoint URLs and credentials of the local stack. */
  environment?: Record<string, string>;
  /** Receives whatever functions write to stdout/stderr. Default: dropped (see `InvocationResult.logs`). */
  onLog?: (functionName: string, text: string) => void;
}

/** The in-process face of the local Lambda service, which AppConfig extensions use to call their actions. */
export interface LambdaInvoker {
  invoke(functionIdentifier: string, event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
}

export interface LambdaServer extends LambdaInvoker {
  /** `http://127.0.0.1:<port>`, for `new LambdaClient({ endpoint })`. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  registerFunction(definition: FunctionDefinition): Promise<RegisteredFunction>;
  unregisterFunction(nameOrArn: string): boolean;
  listFunctions(): RegisteredFunction[];
  close(): Promise<void>;
}

/** Lambda's synchronous invocation payload limit (6 MB request and response). */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const FUNCTION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/?$/;
const FUNCTIONS_PATH = /^\/2015-03-31\/functions\/?$/;

export async function startLambdaServer(options: LambdaServerOptions = {}): Promise<LambdaServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const registry = new FunctionRegistry(region, accountId);
  const pool = new RunnerPool({
    region,
    warm: options.warm ?? true,
    maxIdlePerFunction: options.maxIdlePerFunction ?? 2,
    baseEnvironment: options.environment ?? {},
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
  const pendingEvents = new Set<Promise<unknown>>();
  const uploads: string[] = [];
  for (const def of options.functions ?? []) await registry.register(def);

  const invoke = (id: string, event: unknown, opts?: InvokeOptions) =>
    pool.invoke(registry.resolve(id), event, opts);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof FunctionNotFoundError)
        return sendError(res, 404, 'ResourceNotFoundException', err.message);
      sendError(res, 500, 'ServiceException', String((err as Error)?.message ?? err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    let match = INVOKE_PATH.exec(url.pathname);
    if (match && req.method === 'POST') return handleInvoke(req, res, decodeURIComponent(match[1]!), body);
    match = FUNCTION_PATH.exec(url.pathname);
    if (match && req.method === 'GET') {
      const fn = registry.resolve(decodeURIComponent(match[1]!));
      return sendJson(res, 200, { Configuration: configurationOf(fn), Code: { RepositoryType: 'S3' } });
    }
    if (match && req.method === 'DELETE') {
      registry.resolve(decodeURIComponent(match[1]!));
      registry.unregister(decodeURIComponent(match[1]!));
      res.writeHead(204).end();
      return;
    }
    if (FUNCTIONS_PATH.test(url.pathname) && req.method === 'GET') {
      return sendJson(res, 200, { Functions: registry.list().map(configurationOf) });
    }
    if (FUNCTIONS_PATH.test(url.pathname) && req.method === 'POST') return handleCreate(res, body);
    sendError(
      res,
      404,
      'UnknownOperationException',
      `No local Lambda operation for ${req.method} ${url.pathname}`,
    );
  }

  async function handleInvoke(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    body: Buffer,
  ): Promise<void> {
    let fn: RegisteredFunction;
    try {
      fn = registry.resolve(id);
    } catch (err) {
      if (err instanceof FunctionNotFoundError)
        return sendError(res, 404, 'ResourceNotFoundException', err.message);
      throw err;
    }
    if (body.length > MAX_PAYLOAD_BYTES) {
      return sendError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
    }
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const type = header(req, 'x-amz-invocation-type') ?? 'RequestResponse';
    const clientContext = header(req, 'x-amz-client-context');
    const opts: InvokeOptions = {
      invokedFunctionArn: id.startsWith('arn:') ? id : fn.arn,
      ...(clientContext ? { clientContext: parseClientContext(clientContext) } : {}),
    };
    if (type === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    if (type === 'Event') {
      // Asynchronous invocation: accepted at once, errors only end up in the logs (no retries, no DLQ locally).
      const p = pool.invoke(fn, event, opts).catch(() => undefined);
      pendingEvents.add(p);
      void p.finally(() => pendingEvents.delete(p));
      res.writeHead(202, { 'x-amzn-requestid': cryptoId() }).end();
      return;
    }
    if (type !== 'RequestResponse') {
      return sendError(res, 400, 'InvalidParameterValueException', `Unsupported InvocationType ${type}`);
    }
    const result = await pool.invoke(fn, event, opts);
    let payload = result.payload;
    let functionError = result.functionError;
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      payload = JSON.stringify({
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
      });
      functionError = 'Unhandled';
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': result.requestId,
      'x-amz-executed-version': '$LATEST',
    };
    if (functionError) headers['x-amz-function-error'] = functionError;
    if (header(req, 'x-amz-log-type') === 'Tail') {
      // Lambda returns the last 4 KB of the log, base64-encoded.
      headers['x-amz-log-result'] = Buffer.from(result.logs).subarray(-4096).toString('base64');
    }
    res.writeHead(200, headers).end(payload);
  }

  async function handleCreate(res: ServerResponse, body: Buffer): Promise<void> {
    const input = JSON.parse(body.toString('utf8') || '{}') as {
      FunctionName?: string;
      Handler?: string;
      Code?: { ZipFile?: string };
      Timeout?: number;
      MemorySize?: number;
      Environment?: { Variables?: Record<string, string> };
    };
    if (!input.FunctionName || !input.Handler || !input.Code?.ZipFile) {
      return sendError(
        res,
        400,
        'InvalidParameterValueException',
        'The local Lambda supports CreateFunction with FunctionName, Handler and Code.ZipFile only',
      );
    }
    if (registry.has(input.FunctionName)) {
      return sendError(
        res,
        409,
        'ResourceConflictException',
        `Function already exist: ${input.FunctionName}`,
      );
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'pipewright-lambda-upload-'));
    uploads.push(dir);
    const zipFile = path.join(dir, 'code.zip');
    await writeFile(zipFile, Buffer.from(input.Code.ZipFile, 'base64'));
    const fn = await registry.register({
      name: input.FunctionName,
      handler: input.Handler,
      zipFile,
      ...(input.Timeout ? { timeoutMs: input.Timeout * 1000 } : {}),
      ...(input.MemorySize ? { memoryMb: input.MemorySize } : {}),
      ...(input.Environment?.Variables ? { environment: input.Environment.Variables } : {}),
    });
    sendJson(res, 201, configurationOf(fn));
  }

  const endpoint = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  const port = Number(new URL(endpoint).port);

  return {
    endpoint,
    port,
    region,
    accountId,
    invoke,
    registerFunction: (def) => registry.register(def),
    unregisterFunction: (id) => registry.unregister(id),
    listFunctions: () => registry.list(),
    async close() {
      await closeServer(server);
      await pool.close();
      await Promise.allSettled([...pendingEvents]);
      await registry.dispose();
      await Promise.all(uploads.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

function configurationOf(fn: RegisteredFunction) {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: `nodejs${process.versions.node.split('.')[0]}.x`,
    Handler: fn.handler,
    Timeout: Math.ceil(fn.timeoutMs / 1000),
    MemorySize: fn.memoryMb,
    Version: '$LATEST',
    State: 'Active',
    PackageType: 'Zip',
    LastModified: fn.lastModified.toISOString(),
    Environment: { Variables: fn.environment },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Lambda is restJson1: the error type travels in `x-amzn-errortype`, the body carries `Type` and `Message`. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', Message: message }));
}

function cryptoId(): string {
  return globalThis.crypto.randomUUID();
}

/** `X-Amz-Client-Context` is base64 JSON; the handler sees it parsed, as `context.clientContext`. */
function parseClientContext(value: string): unknown {
  const text = Buffer.from(value, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
