import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AppConfigServer,
  type AppConfigServerOptions,
  startAppConfigServer,
} from './appconfig/server.js';
import { type ArtifactBackend, type ExternalS3Options, LocalArtifacts } from './artifacts.js';
import type { Env, JobTimeouts } from './codepipeline/context.js';
import { sweepJobs } from './codepipeline/jobs.js';
import type { CodePipelineState } from './codepipeline/model.js';
import { createCodePipelineServer } from './codepipeline/server.js';
import { createCodePipelineEnv, snapshotCodePipeline } from './codepipeline/state.js';
import { CredentialStore, type Credentials, type SessionRecord } from './credentials.js';
import { type FaultSpec, Faults } from './faults.js';
import { close, listen } from './http.js';
import { type LambdaServer, type LambdaServerOptions, startLambdaServer } from './lambda/server.js';
import { StateFile } from './persistence.js';
import { createS3Server } from './s3/server.js';
import { ObjectStore, type StoreSnapshot } from './s3/store.js';

export interface LocalStackOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Ports per service; 0 (the default) picks free ports. The CLI uses DEFAULT_PORTS. */
  ports?: { codepipeline?: number; s3?: number; appconfig?: number; lambda?: number };
  region?: string;
  accountId?: string;
  /** The static "admin" credentials accepted by every service. */
  credentials?: Credentials;
  /** Created at start; CodePipeline's SSE-KMS bucket policy applies to it. */
  artifactBucket?: string;
  /** Keep state and objects in this folder, so a restart loses nothing. Default: in memory + a temp folder. */
  persistDir?: string;
  /** Keep artifacts in an external S3 endpoint (moto_server, MinIO) instead of the built-in S3 server. */
  externalS3?: ExternalS3Options;
  jobTimeouts?: Partial<JobTimeouts>;
  /** Lifetime of job artifact credentials. Default 15 minutes (what the Jenkins plugin observed on AWS). */
  credentialsTtlMs?: number;
  maxCustomActionTypes?: number;
  /**
   * Execution mode for pipelines that declare none. Default PARALLEL, so tests can queue several jobs of one
   * pipeline; AWS's default is SUPERSEDED (set it here for AWS's behaviour).
   */
  defaultExecutionMode?: 'PARALLEL' | 'QUEUED' | 'SUPERSEDED';
  faults?: FaultSpec;
  /** Seed for fault decisions, to make a fault sequence reproducible. */
  faultSeed?: number;
  /** Check SigV4 signatures on the CodePipeline API (S3 always checks). Default true. */
  verifySignatures?: boolean;
  /** AppConfig emulation: deployment time scale, tick interval, quotas, payload quirks. */
  appconfig?: Omit<AppConfigServerOptions, 'port' | 'host' | 'region' | 'accountId' | 'lambda'>;
  /** Local Lambda: functions to register, warm runners, extra environment, log sink. */
  lambda?: Omit<LambdaServerOptions, 'port' | 'host' | 'region' | 'accountId'>;
}

export type ServiceName = 'codepipeline' | 's3' | 'appconfig' | 'lambda';

export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: Credentials;
  forcePathStyle?: boolean;
}

export interface LocalStack {
  endpoints: { codepipeline: string; s3: string; appconfig?: string; lambda?: string };
  region: string;
  accountId: string;
  credentials: Credentials;
  artifactBucket: string;
  faults: Faults;
  /** Live service state, for assertions in tests (read it; change it through the APIs). */
  state: { codepipeline: Env; s3?: ObjectStore };
  /** The local Lambda service: `await stack.lambda.registerFunction({ name, handler })`. */
  lambda: LambdaServer;
  /** The local AppConfig service (its extensions invoke `lambda`). */
  appconfig: AppConfigServer;
  /** Configuration for an SDK client of one service: `new S3Client(stack.clientConfig('s3'))`. */
  clientConfig(service: ServiceName): ClientConfig;
  stop(): Promise<void>;
}

export const DEFAULT_PORTS = { codepipeline: 4571, s3: 4572, appconfig: 4573, lambda: 4574 } as const;

export const DEFAULT_CREDENTIALS: Credentials = {
  accessKeyId: 'AKIAPIPEWRIGHTLOCAL1',
  secretAccessKey: 'pipewright-local-secret-access-key',
};

const DEFAULT_TIMEOUTS: JobTimeouts = {
  redispatchMs: 60_000,
  unacknowledgedMs: 24 * 3_600_000,
  inProgressMs: 24 * 3_600_000,
};

interface Snapshot {
  codepipeline: CodePipelineState;
  credentials: SessionRecord[];
  s3?: StoreSnapshot;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const artifactBucket = options.artifactBucket ?? `codepipeline-${region}-${accountId}`;
  const faults = new Faults(options.faults, options.faultSeed);
  const tempDir = options.persistDir ? undefined : mkdtempSync(join(tmpdir(), 'pipewright-local-'));
  const dataDir = options.persistDir ?? tempDir!;
  const stateFile = new StateFile(options.persistDir && join(options.persistDir, 'state.json'), () =>
    snapshot(),
  );
  const saved = StateFile.read<Snapshot>(stateFile.path);

  const sts = new CredentialStore(credentials, options.credentialsTtlMs ?? 15 * 60_000);
  sts.load(saved?.credentials ?? []);
  sts.onChange = () => stateFile.changed();

  const store = options.externalS3 ? undefined : new ObjectStore(join(dataDir, 's3'));
  if (store) {
    if (saved?.s3) store.load(saved.s3);
    store.onChange = () => stateFile.changed();
  }
  let artifacts: ArtifactBackend;
  if (store) artifacts = new LocalArtifacts(store, region, accountId);
  else {
    // Loaded only for an external endpoint: otherwise the SDK would be half of the stack's heap.
    const { ExternalArtifacts } = await import('./external-artifacts.js');
    artifacts = new ExternalArtifacts(options.externalS3!, region, credentials);
  }
  await artifacts.ensureBucket(artifactBucket);

  const env = createCodePipelineEnv({
    options: {
      region,
      accountId,
      jobTimeouts: { ...DEFAULT_TIMEOUTS, ...options.jobTimeouts },
      maxCustomActionTypes: options.maxCustomActionTypes ?? 50,
      defaultExecutionMode: options.defaultExecutionMode ?? 'PARALLEL',
    },
    saved: saved?.codepipeline,
    credentials: sts,
    artifacts,
    artifactBucket,
    changed: () => stateFile.changed(),
  });
  const snapshot = (): Snapshot => ({
    codepipeline: snapshotCodePipeline(env),
    credentials: sts.toJSON(),
    ...(store ? { s3: store.toJSON() } : {}),
  });

  const servers: Server[] = [];
  const start = async (server: Server, port: number | undefined) => {
    servers.push(server);
    return listen(server, host, port ?? 0);
  };
  const codepipeline = await start(
    createCodePipelineServer({ env, faults, verifySignatures: options.verifySignatures ?? true }),
    options.ports?.codepipeline,
  );
  const s3 = store
    ? await start(
        createS3Server({
          store,
          credentials: sts,
          faults,
          region,
          accountId,
          kmsRequiredBuckets: env.artifactBuckets,
        }),
        options.ports?.s3,
      )
    : options.externalS3!.endpoint;
  const endpoints: LocalStack['endpoints'] = { codepipeline, s3 };

  // Other services plug in here: start the server, set `endpoints.<name>`, push it to `servers`.
  // Functions see the stack's endpoints and credentials, as a deployed function sees AWS through its role.
  const lambda = await startLambdaServer({
    ...options.lambda,
    host,
    region,
    accountId,
    ...(options.ports?.lambda !== undefined ? { port: options.ports.lambda } : {}),
    environment: {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3,
      AWS_ENDPOINT_URL_CODEPIPELINE: codepipeline,
      ...options.lambda?.environment,
    },
  });
  const appconfig = await startAppConfigServer({
    ...options.appconfig,
    host,
    region,
    accountId,
    lambda,
    ...(options.ports?.appconfig !== undefined ? { port: options.ports.appconfig } : {}),
  });
  endpoints.lambda = lambda.endpoint;
  endpoints.appconfig = appconfig.endpoint;

  // Job timeouts must fire even when nobody calls the job API.
  const sweeper = setInterval(
    () => sweepJobs(env),
    // A quarter of the shortest timeout (20 ms to 1 s), so short test timeouts fire close to on time.
    Math.min(1000, Math.max(20, Math.min(...Object.values(env.jobTimeouts)) / 4)),
  );
  sweeper.unref();

  return {
    endpoints,
    region,
    accountId,
    credentials,
    artifactBucket,
    faults,
    state: { codepipeline: env, ...(store ? { s3: store } : {}) },
    lambda,
    appconfig,
    clientConfig(service) {
      const endpoint = endpoints[service];
      if (!endpoint) throw new Error(`The local stack has no ${service} endpoint`);
      return { endpoint, region, credentials, ...(service === 's3' ? { forcePathStyle: true } : {}) };
    },
    async stop() {
      clearInterval(sweeper);
      await Promise.all(servers.map(close));
      await appconfig.close();
      await lambda.close();
      stateFile.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
