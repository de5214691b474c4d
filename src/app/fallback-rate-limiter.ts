import type { BucketSpec, RateLimiter, TakeResult } from "../core/platform/rate-limiter.js";
import type { UsageCounters, WindowCount } from "../core/quota/usage-counters.js";

/** What a fallback reports: the switch to local state and the way back, once each per outage. */
export interface FallbackListener {
  degraded(err: unknown): void;
  restored(): void;
}

/**
 * The switch behind every fallback of shared (Redis) state to this gateway's own: each call
 * tries the shared store first and, when it throws, answers from the local one; the listener
 * hears the first failure of an outage and the first success after it.
 */
export class Fallback {
  #listener: FallbackListener | undefined;
  #degraded = false;

  /** True while calls go to the local state. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Sets who hears of the switches (the composition root, once the logger exists). */
  watch(listener: FallbackListener): void {
    this.#listener = listener;
  }

  async run<R>(primary: () => Promise<R>, fallback: () => Promise<R>): Promise<R> {
    let result: R;
    try {
      result = await primary();
    } catch (err) {
      if (!this.#degraded) {
        this.#degraded = true;
        this.#listener?.degraded(err);
      }
      return fallback();
    }
    if (this.#degraded) {
      this.#degraded = false;
      this.#listener?.restored();
    }
    return result;
  }
}

/**
 * The shared (Redis) buckets, or this process's own while the shared store fails: an outage
 * of Redis degrades limits to per-gateway ones instead of refusing every request. (Writes are
 * shed meanwhile anyway — Redis is one of the readiness dependencies — so this is what keeps
 * reads and sockets answering.) The server logs both switches.
 */
export class FallbackRateLimiter extends Fallback implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;

  constructor(primary: RateLimiter, fallback: RateLimiter) {
    super();
    this.#primary = primary;
    this.#fallback = fallback;
  }

  take(key: string, spec: BucketSpec, cost?: number): Promise<TakeResult> {
    return this.run(
      () => this.#primary.take(key, spec, cost),
      () => this.#fallback.take(key, spec, cost),
    );
  }
}

/**
 * The shared (Redis) quota counters, or this gateway's own while Redis fails, as the rate
 * limiter does: during an outage each gateway counts from 0 in its own windows (a user may pass
 * a windowed quota by up to the number of gateways times the limit, until Redis is back).
 */
export class FallbackUsageCounters extends Fallback implements UsageCounters {
  readonly #primary: UsageCounters;
  readonly #fallback: UsageCounters;

  constructor(primary: UsageCounters, fallback: UsageCounters) {
    super();
    this.#primary = primary;
    this.#fallback = fallback;
  }

  add(key: string, windowMs: number, amount: number, limit: number): Promise<WindowCount> {
    return this.run(
      () => this.#primary.add(key, windowMs, amount, limit),
      () => this.#fallback.add(key, windowMs, amount, limit),
    );
  }

  /** Both: the local counters may hold what was counted while Redis was down. */
  async forget(suffix: string): Promise<void> {
    await this.#fallback.forget(suffix);
    await this.run(
      () => this.#primary.forget(suffix),
      async () => {},
    );
  }
}
