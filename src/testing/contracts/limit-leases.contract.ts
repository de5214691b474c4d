import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/platform/clock.js";
import type { BucketLeases } from "../../core/platform/leased-rate-limiter.js";
import type { RateLimiter } from "../../core/platform/rate-limiter.js";
import type { CounterReservations } from "../../core/quota/leased-counters.js";
import { MINUTE_MS, type UsageCounters } from "../../core/quota/usage-counters.js";

/** The leases every shared bucket a LeasedRateLimiter draws from must give; `make` measures time with `clock`. */
export function describeBucketLeasesContract(
  name: string,
  make: (clock: ManualClock) => Promise<BucketLeases & RateLimiter> | (BucketLeases & RateLimiter),
): void {
  describe(`BucketLeases contract: ${name}`, () => {
    it("takes up to `want` whole tokens when at least `least` are there, what is there when fewer, none below `least`", async () => {
      const clock = new ManualClock();
      const b = await make(clock);
      const spec = { rate: 10, burst: 10 };
      assert.deepEqual(await b.lease("k", spec, 1, 4), { granted: 4, remaining: 6, retryAfterMs: 0 });
      assert.deepEqual(await b.lease("k", spec, 2, 8), { granted: 6, remaining: 0, retryAfterMs: 0 }, "what is there");
      assert.deepEqual(await b.lease("k", spec, 1, 8), { granted: 0, remaining: 0, retryAfterMs: 100 }, "none: the wait for `least`");
      clock.advance(250);
      assert.deepEqual(await b.lease("k", spec, 3, 8), { granted: 0, remaining: 2, retryAfterMs: 50 }, "2.5 tokens: `least` 3 lacks 0.5");
      assert.deepEqual(await b.lease("k", spec, 2, 8), { granted: 2, remaining: 0, retryAfterMs: 0 });
    });

    it("draws from the same bucket as `take`", async () => {
      const clock = new ManualClock();
      const b = await make(clock);
      const spec = { rate: 1, burst: 3 };
      assert.equal((await b.lease("k", spec, 1, 2)).granted, 2);
      assert.equal((await b.take("k", spec)).allowed, true);
      assert.equal((await b.take("k", spec)).allowed, false);
    });
  });
}

/** The reservations every shared counter a LeasedUsageCounters draws from must give; `make` measures time with `clock`. */
export function describeCounterReservationsContract(
  name: string,
  make: (clock: ManualClock) => Promise<UsageCounters & CounterReservations> | (UsageCounters & CounterReservations),
): void {
  describe(`CounterReservations contract: ${name}`, () => {
    const start = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE_MS) + 1000;
    const end = start - 1000 + MINUTE_MS;

    it("adds up to `want` within the limit, what fits when less, nothing when less than `least` fits", async () => {
      const c = await make(new ManualClock(start));
      assert.deepEqual(await c.reserve("k", MINUTE_MS, 1, 4, 10), { granted: 4, used: 4, resetAt: end });
      assert.equal((await c.add("k", MINUTE_MS, 3, 10)).used, 7, "adds and reservations count together");
      assert.deepEqual(await c.reserve("k", MINUTE_MS, 2, 8, 10), { granted: 3, used: 10, resetAt: end });
      assert.deepEqual(await c.reserve("k", MINUTE_MS, 1, 1, 10), { granted: 0, used: 10, resetAt: end });
    });

    it("releases into the window it names only, never below 0", async () => {
      const clock = new ManualClock(start);
      const c = await make(clock);
      await c.reserve("k", MINUTE_MS, 5, 5, 10);
      await c.release("k", MINUTE_MS, end, 2);
      assert.equal((await c.add("k", MINUTE_MS, 0, 10)).used, 3);
      await c.release("k", MINUTE_MS, end, 9);
      assert.equal((await c.add("k", MINUTE_MS, 0, 10)).used, 0);
      await c.reserve("k", MINUTE_MS, 4, 4, 10);
      clock.advance(MINUTE_MS);
      await c.reserve("k", MINUTE_MS, 1, 1, 10);
      await c.release("k", MINUTE_MS, end, 4);
      assert.equal((await c.add("k", MINUTE_MS, 0, 10)).used, 1, "a release of the last window leaves this one");
    });
  });
}
