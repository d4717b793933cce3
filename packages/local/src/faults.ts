/**
 * Fault injection for the local stack, per service and operation. The worker's reliability tests use it
 * to prove that retries, backoff and resumable transfers work without waiting for AWS to misbehave.
 */

export interface FaultRule {
  /** Share of requests (0..1) answered with throttling: ThrottlingException (JSON), SlowDown 503 (S3). */
  throttleRate?: number;
  /** Share of requests (0..1) answered with an HTTP 500 InternalError / InternalFailure. */
  errorRate?: number;
  /** Added latency in milliseconds before the request is handled. */
  latencyMs?: number;
  /** Share of S3 GetObject responses (0..1) whose connection is reset after about half of the body. */
  resetRate?: number;
}

/** Rules by service name (`codepipeline`, `s3`, ...) and operation name; `*` matches every operation. */
export type FaultSpec = Record<string, Record<string, FaultRule>>;

export interface FaultDecision {
  latencyMs: number;
  throttle: boolean;
  serverError: boolean;
  reset: boolean;
}

const NONE: FaultDecision = { latencyMs: 0, throttle: false, serverError: false, reset: false };

/** mulberry32: small, fast and good enough to make a fault sequence reproducible from a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  #spec: FaultSpec = {};
  #random: () => number;
  /** How many faults of each kind were injected, so tests can assert that a fault really happened. */
  readonly injected = { throttle: 0, serverError: 0, reset: 0, latency: 0 };

  constructor(spec: FaultSpec = {}, seed?: number) {
    this.#spec = structuredClone(spec);
    this.#random = seed === undefined ? Math.random : prng(seed);
  }

  /** Replaces every rule; pass `seed` to restart a deterministic sequence. */
  set(spec: FaultSpec, seed?: number): void {
    this.#spec = structuredClone(spec);
    if (seed !== undefined) this.#random = prng(seed);
  }

  /** Adds or replaces the rules of one service and operation. */
  update(service: string, operation: string, rule: FaultRule): void {
    this.#spec[service] = { ...this.#spec[service], [operation]: rule };
  }

  clear(): void {
    this.#spec = {};
  }

  get(): FaultSpec {
    return structuredClone(this.#spec);
  }

  decide(service: string, operation: string): FaultDecision {
    const rules = this.#spec[service];
    if (!rules) return NONE;
    const rule = { ...rules['*'], ...rules[operation] };
    if (Object.keys(rule).length === 0) return NONE;
    const roll = (rate: number | undefined) => rate !== undefined && rate > 0 && this.#random() < rate;
    const decision: FaultDecision = {
      latencyMs: rule.latencyMs ?? 0,
      throttle: roll(rule.throttleRate),
      serverError: false,
      reset: false,
    };
    if (!decision.throttle) decision.serverError = roll(rule.errorRate);
    if (!decision.throttle && !decision.serverError) decision.reset = roll(rule.resetRate);
    if (decision.latencyMs > 0) this.injected.latency++;
    if (decision.throttle) this.injected.throttle++;
    if (decision.serverError) this.injected.serverError++;
    if (decision.reset) this.injected.reset++;
    return decision;
  }
}
