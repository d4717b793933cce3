import { CodePipelineClient, ListActionTypesCommand } from '@aws-sdk/client-codepipeline';
import { type LocalStack, startLocalStack } from '@pipewright/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reuseSigner } from './reuse-signer.js';

describe('reuseSigner', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    // The stack checks every SigV4 signature, so a request signed wrongly fails here.
    stack = await startLocalStack();
  });
  afterAll(() => stack.stop());

  const client = () => new CodePipelineClient({ ...stack.clientConfig('codepipeline'), maxAttempts: 1 });

  /** Counts the signers the client's factory makes. */
  const countSigners = (cp: CodePipelineClient) => {
    const counter = { made: 0 };
    const original = cp.config.signer;
    cp.config.signer = (scheme) => {
      counter.made++;
      return original(scheme);
    };
    return counter;
  };

  it('signs every request with one signer, and the stack accepts each signature', async () => {
    const cp = client();
    const created = countSigners(cp);
    reuseSigner(cp);
    for (let i = 0; i < 3; i++) await cp.send(new ListActionTypesCommand({}));
    expect(created.made).toBe(1);

    // Without it, the SDK makes one per request.
    const plain = client();
    const plainCreated = countSigners(plain);
    for (let i = 0; i < 3; i++) await plain.send(new ListActionTypesCommand({}));
    expect(plainCreated.made).toBe(3);
  });

  it('does not keep a signer that failed to be made: the next request tries again', async () => {
    const cp = client();
    const original = cp.config.signer;
    let calls = 0;
    cp.config.signer = (scheme) => {
      calls++;
      return calls === 1 ? Promise.reject(new Error('region provider failed')) : original(scheme);
    };
    reuseSigner(cp);
    await expect(cp.send(new ListActionTypesCommand({}))).rejects.toThrow('region provider failed');
    await cp.send(new ListActionTypesCommand({}));
    await cp.send(new ListActionTypesCommand({}));
    expect(calls).toBe(2);
  });
});
