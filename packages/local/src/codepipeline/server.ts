import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Faults } from '../faults.js';
import { readBody, requestId, send, sleep } from '../http.js';
import { hashBody, parseAuthorization, SigV4Error, verifySignature } from '../sigv4.js';
import { createCustomActionType, deleteCustomActionType, listActionTypes } from './actionTypes.js';
import type { Env } from './context.js';
import { ServiceError } from './errors.js';
import { startPipelineExecution, stopPipelineExecution } from './executions.js';
import {
  getPipelineExecution,
  getPipelineState,
  listActionExecutions,
  listPipelineExecutions,
} from './history.js';
import {
  acknowledgeJob,
  getJobDetails,
  pollForJobs,
  putJobFailureResult,
  putJobSuccessResult,
} from './jobs.js';
import { createPipeline, deletePipeline, getPipeline, listPipelines, updatePipeline } from './pipelines.js';

// biome-ignore lint/suspicious/noExplicitAny: each operation validates its own input shape
type Operation = (env: Env, input: any) => object;

export const OPERATIONS: Record<string, Operation> = {
  CreateCustomActionType: createCustomActionType,
  ListActionTypes: listActionTypes,
  DeleteCustomActionType: deleteCustomActionType,
  CreatePipeline: createPipeline,
  GetPipeline: getPipeline,
  UpdatePipeline: updatePipeline,
  ListPipelines: listPipelines,
  DeletePipeline: deletePipeline,
  StartPipelineExecution: startPipelineExecution,
  StopPipelineExecution: stopPipelineExecution,
  GetPipelineExecution: getPipelineExecution,
  ListPipelineExecutions: listPipelineExecutions,
  GetPipelineState: getPipelineState,
  ListActionExecutions: listActionExecutions,
  PollForJobs: pollForJobs,
  AcknowledgeJob: acknowledgeJob,
  GetJobDetails: getJobDetails,
  PutJobSuccessResult: putJobSuccessResult,
  PutJobFailureResult: putJobFailureResult,
};

/** Operations whose output shape is empty: AWS answers HTTP 200 with an empty body. */
const NO_OUTPUT = new Set([
  'PutJobSuccessResult',
  'PutJobFailureResult',
  'DeleteCustomActionType',
  'DeletePipeline',
]);
const TARGET_PREFIX = 'CodePipeline_20150709.';

export interface CodePipelineServerOptions {
  env: Env;
  faults: Faults;
  /** Verify SigV4 on every request (with the admin credentials); on by default. */
  verifySignatures: boolean;
}

/** AWS JSON 1.1 over HTTP: every operation is `POST /` with `X-Amz-Target: CodePipeline_20150709.<Operation>`. */
export function createCodePipelineServer(options: CodePipelineServerOptions): Server {
  const server = createServer((req, res) => {
    void handle(options, req, res);
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

function reply(res: ServerResponse, id: string, status: number, body: object | undefined): void {
  send(res, status, body === undefined ? '' : JSON.stringify(body), {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': id,
  });
}

function fail(res: ServerResponse, id: string, e: ServiceError): void {
  reply(res, id, e.status, { __type: e.type, message: e.message });
}

async function handle(
  o: CodePipelineServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const id = requestId();
  try {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (req.method !== 'POST' || !op) {
      return fail(
        res,
        id,
        new ServiceError('UnknownOperationException', `Unknown operation ${target || req.method}`, 404),
      );
    }
    const fault = o.faults.decide('codepipeline', op);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.throttle) return fail(res, id, new ServiceError('ThrottlingException', 'Rate exceeded'));
    if (fault.serverError) {
      return fail(
        res,
        id,
        new ServiceError(
          'InternalFailure',
          'The request processing has failed because of an unknown error.',
          500,
        ),
      );
    }
    if (o.verifySignatures) authenticate(o.env, req, body);
    const operation = OPERATIONS[op];
    if (!operation) {
      return fail(
        res,
        id,
        new ServiceError('UnknownOperationException', `The local stack does not implement ${op}`),
      );
    }
    let input: object;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return fail(res, id, new ServiceError('SerializationException', 'The request body is not valid JSON'));
    }
    const output = operation(o.env, input);
    reply(res, id, 200, NO_OUTPUT.has(op) ? undefined : output);
  } catch (e) {
    if (e instanceof ServiceError) return fail(res, id, e);
    fail(res, id, new ServiceError('InternalFailure', (e as Error).message, 500));
  }
}

function authenticate(env: Env, req: IncomingMessage, body: Buffer): void {
  try {
    const auth = parseAuthorization(req.headers.authorization);
    const found = env.credentials.lookup(auth.accessKeyId);
    // Job credentials are for artifacts only; the job API is called with the worker's own identity.
    if (found?.principal.kind !== 'admin') {
      throw new ServiceError(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    if (auth.service !== 'codepipeline' || auth.region !== env.region) {
      throw new ServiceError(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region and service: <date>/${env.region}/codepipeline/aws4_request`,
      );
    }
    verifySignature({
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: req.headers,
      auth,
      secretAccessKey: found.secret,
      payloadHash: hashBody(body),
      doubleEncodePath: true,
    });
  } catch (e) {
    if (e instanceof SigV4Error) {
      const type =
        e.code === 'MissingAuthenticationToken'
          ? 'MissingAuthenticationTokenException'
          : 'InvalidSignatureException';
      throw new ServiceError(type, e.message, e.code === 'MissingAuthenticationToken' ? 403 : 400);
    }
    throw e;
  }
}
