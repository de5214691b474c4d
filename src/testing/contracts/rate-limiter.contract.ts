import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/platform/clock.js";
import type { RateLimiter } from "../../core/platform/rate-limiter.js";

/** The behaviour every RateLimiter adapter must show; `make` receives the clock to use. */
export function describeRateLimiterContract(name: string, make: (clock: ManualClock) => Promise<RateLimiter> | RateLimiter): void {
  describe(`RateLimiter contract: ${name}`, () => {
    it("allows a full burst, then refuses with the time until one token refills", async () => {
      const clock = new ManualClock();
      const rl = await make(clock);
      const spec = { rate: 10, burst: 5 };
      for (let i = 0; i < 5; i++) assert.equal((await rl.take("k", spec)).allowed, true);
      const refused = await rl.take("k", spec);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterMs, 100);
    });

    it("refills at the configured rate and never above the burst", async () => {
      const clock = new ManualClock();
      const rl = await make(clock);
      const spec = { rate: 10, burst: 5 };
      for (let i = 0; i < 5; i++) await rl.take("k", spec);
      clock.advance(300);
      for (let i = 0; i < 3; i++) assert.equal((await rl.take("k", spec)).allowed, true, `take ${i}`);
      assert.equal((await rl.take("k", spec)).allowed, false);
      clock.advance(60_000);
      let allowed = 0;
      for (let i = 0; i < 10; i++) if ((await rl.take("k", spec)).allowed) allowed++;
      assert.equal(allowed, 5);
    });

    it("reports the whole tokens left after each take", async () => {
      const clock = new ManualClock();
      const rl = await make(clock);
      const spec = { rate: 1, burst: 3 };
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await rl.take("k", spec));
      assert.deepEqual(
        got.map((r) => [r.allowed, r.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
      assert.equal(got[0]?.retryAfterMs, 0, "no wait when allowed");
    });

    it("takes `cost` tokens at once, and a refused take consumes nothing", async () => {
      const clock = new ManualClock();
      const rl = await make(clock);
      const spec = { rate: 10, burst: 5 };
      assert.deepEqual(await rl.take("k", spec, 3), { allowed: true, remaining: 2, retryAfterMs: 0 });
      assert.deepEqual(await rl.take("k", spec, 3), { allowed: false, remaining: 2, retryAfterMs: 100 }, "one token short: 100 ms at 10/s");
      assert.deepEqual(await rl.take("k", spec, 2), { allowed: true, remaining: 0, retryAfterMs: 0 }, "the refused take left its 2 tokens");
    });

    it("keeps separate buckets per key", async () => {
      const clock = new ManualClock();
      const rl = await make(clock);
      const spec = { rate: 1, burst: 1 };
      assert.equal((await rl.take("a", spec)).allowed, true);
      assert.equal((await rl.take("a", spec)).allowed, false);
      assert.equal((await rl.take("b", spec)).allowed, true);
    });
  });
}
