import { createServer } from 'node:http';
import { close as closeServer, listen } from '../http.js';
import type { LambdaInvoker } from '../lambda/server.js';
import type { Quotas, ServerContext } from './context.js';
import { registerDeploymentRoutes } from './deployment-routes.js';
import { type Deployment, DeploymentEngine, type PayloadQuirks } from './deployments.js';
import { registerExtensionRoutes } from './extension-routes.js';
import { registerHostedVersionRoutes } from './hosted-versions.js';
import { Router } from './http.js';
import { registerResourceRoutes } from './routes.js';
import { Store } from './store.js';
import { PREDEFINED_STRATEGIES } from './strategies.js';

export interface AppConfigServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  /** Where extension actions (Lambda ARNs) are invoked, usually the local Lambda server. Settable later. */
  lambda?: LambdaInvoker;
  /**
   * Real milliseconds that one minute of a deployment strategy lasts. Default 60000 (real time); e.g. 10 runs
   * AppConfig.AllAtOnce (0 min + 10 min bake) in about 100 ms.
   */
  timeScale?: number;
  /** Real milliseconds between AT_DEPLOYMENT_TICK rounds (AWS does not document its frequency). Default `timeScale`. */
  tickIntervalMs?: number;
  /** Limits; AWS's defaults where AWS publishes one. */
  quotas?: Partial<Quotas>;
  /** Switch payload details AWS documents inconsistently, so that handlers can be tested against each variant. */
  payloadQuirks?: PayloadQuirks;
}

export interface AppConfigServer {
  /** `http://127.0.0.1:<port>`, for `new AppConfigClient({ endpoint })`. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Connects (or replaces) the Lambda service extension actions are invoked through. */
  setLambda(lambda: LambdaInvoker | undefined): void;
  /**
   * Resolves when a deployment reached COMPLETE, ROLLED_BACK or REVERTED and its ON_* invocations returned, with
   * the content it deployed (after PRE_START_DEPLOYMENT extensions).
   */
  waitForDeployment(
    applicationId: string,
    environmentId: string,
    deploymentNumber: number,
  ): Promise<{ state: string; content: Buffer; contentType: string }>;
  close(): Promise<void>;
}

export async function startAppConfigServer(options: AppConfigServerOptions = {}): Promise<AppConfigServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const timeScale = options.timeScale ?? 60_000;
  const store = new Store(region, accountId);
  for (const s of PREDEFINED_STRATEGIES) store.strategies.set(s.Id, { ...s });
  let lambda = options.lambda;
  const quotas: Quotas = {
    maxConfigurationBytes: 2 * 1024 * 1024,
    maxExtensions: 100,
    maxAssociationsPerResource: 50,
    ...options.quotas,
  };
  const quirks = options.payloadQuirks ?? {};
  const newInvocationId = () => store.newId();
  const engine = new DeploymentEngine(store, () => lambda, {
    timeScale,
    tickIntervalMs: options.tickIntervalMs ?? timeScale,
    quirks,
    newInvocationId,
  });
  const ctx: ServerContext = { store, engine, lambda: () => lambda, quotas, quirks, newInvocationId };
  const router = new Router();
  registerResourceRoutes(router, ctx);
  registerHostedVersionRoutes(router, ctx);
  registerDeploymentRoutes(router, ctx);
  registerExtensionRoutes(router, ctx);

  // Bodies up to twice the configuration quota are read so that an oversized one gets a proper
  // PayloadTooLargeException from the route rather than a dropped connection.
  const maxBody = quotas.maxConfigurationBytes * 2 + 1024 * 1024;
  const server = createServer((req, res) => void router.dispatch(req, res, maxBody));
  const endpoint = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  const port = Number(new URL(endpoint).port);

  return {
    endpoint,
    port,
    region,
    accountId,
    setLambda(next) {
      lambda = next;
    },
    async waitForDeployment(applicationId, environmentId, deploymentNumber) {
      const env = store.getEnvironment(applicationId, environmentId);
      const d: Deployment | undefined = engine
        .list(env.Id)
        .find((x) => x.DeploymentNumber === deploymentNumber);
      if (!d) throw new Error(`Deployment ${deploymentNumber} of environment ${environmentId} not found`);
      await engine.settled(d);
      return { state: d.State, content: d.ctx.content, contentType: d.ctx.contentType };
    },
    async close() {
      await engine.close();
      await closeServer(server);
    },
  };
}
