import type { BucketSpec, RateLimiter, TakeResult } from "../core/platform/rate-limiter.js";

/** What a FallbackRateLimiter reports: the switch to local buckets and the way back, once each per outage. */
export interface FallbackListener {
  degraded(err: unknown): void;
  restored(): void;
}

/**
 * The shared (Redis) buckets, or this process's own while the shared store fails: an outage
 * of Redis degrades limits to per-gateway ones instead of refusing every request. (Writes are
 * shed meanwhile anyway — Redis is one of the readiness dependencies — so this is what keeps
 * reads and sockets answering.) Every take tries the shared store first; the listener hears
 * the first failure of an outage and the first success after it (the server logs both).
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;
  #listener: FallbackListener | undefined;
  #degraded = false;

  constructor(primary: RateLimiter, fallback: RateLimiter) {
    this.#primary = primary;
    this.#fallback = fallback;
  }

  /** True while takes go to the local buckets. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Sets who hears of the switches (the composition root, once the logger exists). */
  watch(listener: FallbackListener): void {
    this.#listener = listener;
  }

  async take(key: string, spec: BucketSpec, cost?: number): Promise<TakeResult> {
    let result: TakeResult;
    try {
      result = await this.#primary.take(key, spec, cost);
    } catch (err) {
      if (!this.#degraded) {
        this.#degraded = true;
        this.#listener?.degraded(err);
      }
      return this.#fallback.take(key, spec, cost);
    }
    if (this.#degraded) {
      this.#degraded = false;
      this.#listener?.restored();
    }
    return result;
  }
}
