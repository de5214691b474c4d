/** A token-bucket setting: `rate` tokens refill per second up to `burst`. */
export interface BucketSpec {
  readonly rate: number;
  readonly burst: number;
}

/** The answer of one `take`. */
export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** When refused: milliseconds until `cost` tokens are available again; else 0. */
  readonly retryAfterMs: number;
}

/**
 * Token buckets keyed by identity (`key:<id>`, `ip:<addr>`).
 * Obligations: `take` is atomic per key; buckets start full; a refused take consumes nothing.
 * The in-memory adapter serves one process; the Redis adapter shares buckets across gateways.
 */
export interface RateLimiter {
  take(key: string, spec: BucketSpec, cost?: number): Promise<TakeResult>;
}

/** Token-bucket state after refilling up to `now` (pure). */
export function refill(state: { tokens: number; at: number }, spec: BucketSpec, now: number): { tokens: number; at: number } {
  const elapsed = Math.max(0, now - state.at) / 1000;
  return { tokens: Math.min(spec.burst, state.tokens + elapsed * spec.rate), at: Math.max(now, state.at) };
}
