import type { Clock } from "../../core/platform/clock.js";
import type { BucketLeases, LeaseResult } from "../../core/platform/leased-rate-limiter.js";
import { type BucketSpec, type RateLimiter, refill, type TakeResult } from "../../core/platform/rate-limiter.js";

/** Buckets idle this long are full again and can be forgotten. */
const SWEEP_EVERY = 10_000;

/**
 * Token buckets in process memory: right for one process (micronode). Behind several
 * gateways each would count alone — use the Redis adapter there. Its leases (BucketLeases) serve
 * tests of the LeasedRateLimiter: several of them over one of these stand for gateways over Redis.
 * Memory stays bounded: every 10,000 takes, buckets that have refilled completely are dropped
 * (a full bucket is the same as no bucket).
 */
export class MemoryRateLimiter implements RateLimiter, BucketLeases {
  readonly #buckets = new Map<string, { tokens: number; at: number; burst: number; rate: number }>();
  readonly #clock: Clock;
  #takes = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    const now = this.#clock.now();
    if (++this.#takes % SWEEP_EVERY === 0) this.#sweep(now);
    const prev = this.#buckets.get(key) ?? { tokens: spec.burst, at: now };
    const state = refill(prev, spec, now);
    if (state.tokens >= cost) {
      const tokens = state.tokens - cost;
      this.#buckets.set(key, { tokens, at: state.at, burst: spec.burst, rate: spec.rate });
      return { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
    }
    this.#buckets.set(key, { ...state, burst: spec.burst, rate: spec.rate });
    const retryAfterMs = Math.ceil(((cost - state.tokens) / spec.rate) * 1000);
    return { allowed: false, remaining: Math.floor(state.tokens), retryAfterMs };
  }

  async lease(key: string, spec: BucketSpec, least: number, want: number): Promise<LeaseResult> {
    const now = this.#clock.now();
    const state = refill(this.#buckets.get(key) ?? { tokens: spec.burst, at: now }, spec, now);
    const granted = state.tokens >= least ? Math.min(want, Math.floor(state.tokens)) : 0;
    const tokens = state.tokens - granted;
    this.#buckets.set(key, { tokens, at: state.at, burst: spec.burst, rate: spec.rate });
    const retryAfterMs = granted < least ? Math.ceil(((least - tokens) / spec.rate) * 1000) : 0;
    return { granted, remaining: Math.floor(tokens), retryAfterMs };
  }

  /** Number of buckets held (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (refill(b, b, now).tokens >= b.burst) this.#buckets.delete(key);
    }
  }
}
