import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/platform/clock.js";
import { DAY_MS, MINUTE_MS, type UsageCounters } from "../../core/quota/usage-counters.js";

/** The behaviour every UsageCounters must show; `make` builds one on empty state, measuring time with `clock`. */
export function describeUsageCountersContract(name: string, make: (clock: ManualClock) => Promise<UsageCounters> | UsageCounters): void {
  describe(`UsageCounters contract: ${name}`, () => {
    const start = 1_700_000_000_000 - (1_700_000_000_000 % DAY_MS) + 1000;

    it("adds up to the limit and refuses past it, adding nothing", async () => {
      const clock = new ManualClock(start);
      const c = await make(clock);
      assert.deepEqual(await c.add("k", MINUTE_MS, 2, 3), { allowed: true, used: 2, resetAt: start - 1000 + MINUTE_MS });
      assert.equal((await c.add("k", MINUTE_MS, 1, 3)).allowed, true);
      const refused = await c.add("k", MINUTE_MS, 1, 3);
      assert.deepEqual([refused.allowed, refused.used], [false, 3]);
      assert.equal((await c.add("k", MINUTE_MS, 0, 3)).used, 3, "0 reads");
      assert.equal((await c.add("other", MINUTE_MS, 3, 3)).allowed, true, "keys are apart");
    });

    it("forgets every counter whose key ends with a suffix, in every window size, and no other", async () => {
      const c = await make(new ManualClock(start));
      await c.add("entries_per_day:usr-x", DAY_MS, 2, 9);
      await c.add("deposits_per_minute:usr-x", MINUTE_MS, 3, 9);
      await c.add("entries_per_day:usr-xy", DAY_MS, 4, 9);
      await c.forget(":usr-x");
      assert.equal((await c.add("entries_per_day:usr-x", DAY_MS, 0, 9)).used, 0);
      assert.equal((await c.add("deposits_per_minute:usr-x", MINUTE_MS, 0, 9)).used, 0);
      assert.equal((await c.add("entries_per_day:usr-xy", DAY_MS, 0, 9)).used, 4, "another user's key that merely contains it stays");
    });

    it("gives back whatever the limit, never below 0", async () => {
      const c = await make(new ManualClock(start));
      await c.add("k", DAY_MS, 2, 2);
      assert.deepEqual([(await c.add("k", DAY_MS, -1, 0)).used, (await c.add("k", DAY_MS, -5, 0)).used], [1, 0]);
    });

    it("starts again at 0 when the window turns", async () => {
      const clock = new ManualClock(start);
      const c = await make(clock);
      await c.add("k", MINUTE_MS, 5, 5);
      clock.advance(MINUTE_MS);
      const next = await c.add("k", MINUTE_MS, 1, 5);
      assert.deepEqual(next, { allowed: true, used: 1, resetAt: start - 1000 + 2 * MINUTE_MS });
      assert.equal((await c.add("k", DAY_MS, 0, 5)).used, 0, "windows of other lengths are other counters");
    });

    it("is atomic: concurrent adds never pass the limit together", async () => {
      const c = await make(new ManualClock(start));
      const results = await Promise.all([...Array(30).keys()].map(() => c.add("k", DAY_MS, 1, 10)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
    });
  });
}
