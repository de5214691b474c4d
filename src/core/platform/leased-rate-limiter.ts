import type { Clock } from "./clock.js";
import type { BucketSpec, RateLimiter, TakeResult } from "./rate-limiter.js";

/** What one lease answers: tokens taken, whole tokens left in the shared bucket, and when none were taken, the wait. */
export interface LeaseResult {
  readonly granted: number;
  readonly remaining: number;
  /** When nothing was granted: milliseconds until `least` tokens are there; else 0. */
  readonly retryAfterMs: number;
}

/**
 * The shared token buckets a LeasedRateLimiter leases from (Redis on a macronode).
 * Obligations: `lease` is atomic per key with every other take of the bucket; it takes as many
 * whole tokens as there are up to `want` when at least `least` are there, else none.
 */
export interface BucketLeases {
  lease(key: string, spec: BucketSpec, least: number, want: number): Promise<LeaseResult>;
}

/** Takes between sweeps of idle leases out of memory. */
const SWEEP_EVERY = 10_000;

/** One key's lease on this process. */
interface Held {
  /** Tokens leased and not spent. */
  tokens: number;
  /** When the last lease came (its tokens are dropped `leaseMs` later). */
  at: number;
  /** The size of the last lease (the next is at most twice it). */
  size: number;
  /** Tokens spent since the last lease came (with the time since, the rate the next lease is sized by). */
  spent: number;
  /** The shared bucket's whole tokens after the last lease. */
  shared: number;
  /** After a refusal: takes of `refusedCost` or more are refused here until then, without asking. */
  refusedUntil: number;
  refusedCost: number;
  pending: Promise<void> | undefined;
}

/**
 * Token buckets shared by several processes without a round trip per take: a process leases a
 * block of tokens from the shared bucket (`BucketLeases`) and spends it locally. A lease holds
 * at most `leaseMs` of the bucket's rate (at least one token) and lives `leaseMs`: tokens not
 * spent by then are dropped (the shared bucket refilled them meanwhile). A lease is sized by what
 * the process spent since its last one (`leaseSize`): what it will spend in `leaseMs` at that
 * rate, at most twice the last lease, so a process holds what it spends, not the cap. A refusal from the shared bucket is remembered for its wait: takes as large are
 * refused here until then, without asking again.
 *
 * The error, stated: every token spent was taken from the shared bucket within the last
 * `leaseMs`, so across all processes together the admissions in any window of length w are at
 * most burst + rate × (w + leaseMs) — the shared limit as if the window were `leaseMs` longer —
 * and never more than one lease per process over what the shared bucket itself admitted. The
 * other way, a process may refuse while another holds unspent leased tokens: at most one lease
 * each, back in the shared bucket within `leaseMs` by refill. With `leaseMs` 0 every take asks.
 * Failures of the shared bucket reject the take (the caller falls back); held tokens are still
 * spent first.
 */
export class LeasedRateLimiter implements RateLimiter {
  readonly #leases: BucketLeases;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #held = new Map<string, Held>();
  #takes = 0;

  constructor(deps: { leases: BucketLeases; clock: Clock; leaseMs: number }) {
    this.#leases = deps.leases;
    this.#clock = deps.clock;
    this.#leaseMs = deps.leaseMs;
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    if (++this.#takes % SWEEP_EVERY === 0) this.#sweep(this.#clock.now());
    for (;;) {
      const now = this.#clock.now();
      const h = this.#held.get(key) ?? this.#fresh(key);
      if (h.tokens > 0 && now - h.at > this.#leaseMs) h.tokens = 0;
      if (h.tokens >= cost) {
        h.tokens -= cost;
        h.spent += cost;
        return { allowed: true, remaining: h.tokens + h.shared, retryAfterMs: 0 };
      }
      if (h.refusedUntil > now && cost >= h.refusedCost) {
        return { allowed: false, remaining: h.tokens, retryAfterMs: h.refusedUntil - now };
      }
      if (h.pending) {
        // One lease at a time per key: the others wait for it, then look again.
        await h.pending;
        continue;
      }
      const lease = this.#lease(key, h, spec, cost, now);
      h.pending = lease.then(
        () => undefined,
        () => undefined,
      );
      try {
        return await lease;
      } finally {
        h.pending = undefined;
      }
    }
  }

  /** Leases what `cost` lacks (and, while leases are used up fast, more), then takes `cost`; or the refusal. */
  async #lease(key: string, h: Held, spec: BucketSpec, cost: number, now: number): Promise<TakeResult> {
    const cap = Math.max(1, Math.floor((spec.rate * this.#leaseMs) / 1000));
    const size = leaseSize(h, now, this.#leaseMs, cap);
    const least = cost - h.tokens;
    const r = await this.#leases.lease(key, spec, least, Math.max(least, size));
    if (r.granted < least) {
      h.refusedUntil = now + r.retryAfterMs;
      h.refusedCost = cost;
      return { allowed: false, remaining: h.tokens + r.remaining, retryAfterMs: r.retryAfterMs };
    }
    h.tokens += r.granted - cost;
    h.at = now;
    h.size = r.granted;
    h.spent = cost;
    h.shared = r.remaining;
    h.refusedUntil = 0;
    return { allowed: true, remaining: h.tokens + h.shared, retryAfterMs: 0 };
  }

  #fresh(key: string): Held {
    const h: Held = {
      tokens: 0,
      at: Number.NEGATIVE_INFINITY,
      size: 1,
      spent: 0,
      shared: 0,
      refusedUntil: 0,
      refusedCost: 0,
      pending: undefined,
    };
    this.#held.set(key, h);
    return h;
  }

  /** Tokens this process holds for `key` (tests). */
  held(key: string): number {
    return this.#held.get(key)?.tokens ?? 0;
  }

  /** Forgets keys whose lease is over and whose refusal passed (memory stays bounded). */
  #sweep(now: number): void {
    for (const [key, h] of this.#held) {
      if (!h.pending && now - h.at > this.#leaseMs && h.refusedUntil <= now) this.#held.delete(key);
    }
  }
}

/**
 * The size of the next lease or block (shared with LeasedUsageCounters): what was spent since
 * the last one, per ms, times `leaseMs` — at least 1, at most twice the last, at most `cap`.
 * The first one (nothing known) is 1.
 */
export function leaseSize(
  last: { readonly at: number; readonly size: number; readonly spent: number },
  now: number,
  leaseMs: number,
  cap: number,
): number {
  const elapsed = now - last.at;
  const expected = Number.isFinite(elapsed) ? Math.ceil((last.spent * leaseMs) / Math.max(1, elapsed)) : 1;
  return Math.max(1, Math.min(cap, 2 * last.size, expected));
}
