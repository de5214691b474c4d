import type { BucketSpec, RateLimiter, TakeResult } from "../core/platform/rate-limiter.js";

/**
 * The shared (Redis) buckets, or this process's own while the shared store fails: an outage
 * of Redis degrades limits to per-gateway ones instead of refusing every request. (Writes are
 * shed meanwhile anyway — Redis is one of the readiness dependencies — so this is what keeps
 * reads and sockets answering.) `onFallback` hears of each failure (for logs; the next take
 * tries the shared store again).
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;
  readonly #onFallback: (err: unknown) => void;

  constructor(primary: RateLimiter, fallback: RateLimiter, onFallback: (err: unknown) => void = () => {}) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#onFallback = onFallback;
  }

  async take(key: string, spec: BucketSpec, cost?: number): Promise<TakeResult> {
    try {
      return await this.#primary.take(key, spec, cost);
    } catch (err) {
      this.#onFallback(err);
      return this.#fallback.take(key, spec, cost);
    }
  }
}
