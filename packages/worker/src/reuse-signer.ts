import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';

type SignerFactory = CodePipelineClient['config']['signer'];

/**
 * Makes the client sign every request with one SigV4 signer. Unless given a signer, the SDK builds a new one
 * for each request, copying the whole client configuration into it: about a tenth of the CPU a no-op job
 * costs the worker, which sends three requests per job. Sharing one is safe: the region and service are
 * passed to each `sign()` call, and the signer reads the client's own credential provider on each, so
 * refreshed credentials are used as before. A failed creation is not kept: the next request tries again.
 */
export function reuseSigner(client: CodePipelineClient): void {
  const perRequest: SignerFactory = client.config.signer;
  let shared: ReturnType<SignerFactory> | undefined;
  client.config.signer = (authScheme) => {
    shared ??= perRequest(authScheme).catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    return shared;
  };
}
