import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.js";
import { MemoryUsageCounters } from "../../../src/adapters/memory/memory-usage-counters.js";
import { FallbackRateLimiter, FallbackUsageCounters } from "../../../src/app/fallback-rate-limiter.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { type BucketLeases, LeasedRateLimiter } from "../../../src/core/platform/leased-rate-limiter.js";
import type { BucketSpec } from "../../../src/core/platform/rate-limiter.js";
import { LeasedUsageCounters } from "../../../src/core/quota/leased-counters.js";
import { DAY_MS, MINUTE_MS } from "../../../src/core/quota/usage-counters.js";
import { describeBucketLeasesContract, describeCounterReservationsContract } from "../../../src/testing/contracts/limit-leases.contract.js";
import { describeRateLimiterContract } from "../../../src/testing/contracts/rate-limiter.contract.js";
import { describeUsageCountersContract } from "../../../src/testing/contracts/usage-counters.contract.js";

const LEASE_MS = 100;

describeBucketLeasesContract("memory", (clock) => new MemoryRateLimiter(clock));
describeCounterReservationsContract("memory", (clock) => new MemoryUsageCounters(clock));
// A leased limiter and leased counters are what a gateway's admission sees: the same contracts hold.
describeRateLimiterContract(
  "leased (over memory)",
  (clock) => new LeasedRateLimiter({ leases: new MemoryRateLimiter(clock), clock, leaseMs: LEASE_MS }),
);
describeUsageCountersContract(
  "leased (over memory)",
  (clock) => new LeasedUsageCounters({ inner: new MemoryUsageCounters(clock), clock, leaseMs: LEASE_MS }),
);

/** A shared bucket whose leases are counted (what would be Redis round trips). */
function counted(shared: MemoryRateLimiter): BucketLeases & { calls: number } {
  const out = {
    calls: 0,
    lease: (key: string, spec: BucketSpec, least: number, want: number) => {
      out.calls++;
      return shared.lease(key, spec, least, want);
    },
  };
  return out;
}

describe("LeasedRateLimiter", () => {
  const fast = { rate: 1000, burst: 1000 };

  it("asks the shared bucket once per lease, leases doubling while the takes come faster, up to rate × lease time", async () => {
    const clock = new ManualClock();
    const leases = counted(new MemoryRateLimiter(clock));
    const rl = new LeasedRateLimiter({ leases, clock, leaseMs: LEASE_MS });
    for (let i = 0; i < 700; i++) {
      assert.equal((await rl.take("k", fast)).allowed, true);
      if (i % 10 === 9) clock.advance(1);
    }
    // Leases of 1, 2, 4, … 64, then 100 (1000/s × 100 ms) each: 7 + 6 = 13 for 700 takes.
    assert.equal(leases.calls, 13);
    assert.ok(rl.held("k") < 100, "never more than one lease held");
  });

  it("sizes leases by the rate of the takes: one lease per lease time at a steady rate", async () => {
    const clock = new ManualClock();
    const leases = counted(new MemoryRateLimiter(clock));
    const rl = new LeasedRateLimiter({ leases, clock, leaseMs: LEASE_MS });
    // One take every 10 ms (100/s, a tenth of the limit) for 10 s.
    for (let i = 0; i < 1000; i++) {
      assert.equal((await rl.take("k", fast)).allowed, true);
      clock.advance(10);
    }
    assert.ok(leases.calls <= 1000 / 10 + 10, `${leases.calls} leases for 1,000 takes at 10 per lease time`);
  });

  it("starts again at one token after an idle lease time, dropping what it did not spend", async () => {
    const clock = new ManualClock();
    const shared = new MemoryRateLimiter(clock);
    const rl = new LeasedRateLimiter({ leases: shared, clock, leaseMs: LEASE_MS });
    for (let i = 0; i < 4; i++) await rl.take("k", fast);
    assert.equal(rl.held("k"), 3, "leases of 1, 2 and 4: three tokens held");
    clock.advance(LEASE_MS + 1);
    await rl.take("k", fast);
    assert.equal(rl.held("k"), 0, "the stale three dropped; a lease of one");
  });

  it("remembers a refusal for its wait: takes as large are refused without asking, smaller ones ask", async () => {
    const clock = new ManualClock();
    const leases = counted(new MemoryRateLimiter(clock));
    const rl = new LeasedRateLimiter({ leases, clock, leaseMs: LEASE_MS });
    const spec = { rate: 10, burst: 3 };
    assert.equal((await rl.take("k", spec, 3)).allowed, true);
    const refused = await rl.take("k", spec, 2);
    assert.deepEqual([refused.allowed, refused.retryAfterMs], [false, 200]);
    const calls = leases.calls;
    clock.advance(50);
    assert.deepEqual(await rl.take("k", spec, 2), { allowed: false, remaining: 0, retryAfterMs: 150 });
    assert.equal(leases.calls, calls, "not asked during the wait");
    clock.advance(50);
    assert.equal((await rl.take("k", spec, 1)).allowed, true, "one token refilled: a smaller take asks and gets it");
    assert.equal(leases.calls, calls + 1);
  });

  it("asks once for many concurrent takes of one key", async () => {
    const clock = new ManualClock();
    const leases = counted(new MemoryRateLimiter(clock));
    const rl = new LeasedRateLimiter({ leases, clock, leaseMs: LEASE_MS });
    await rl.take("k", fast);
    await rl.take("k", fast);
    const calls = leases.calls;
    const results = await Promise.all([...Array(4).keys()].map(() => rl.take("k", fast)));
    assert.ok(results.every((r) => r.allowed));
    assert.equal(leases.calls - calls, 1, "one lease of 4 served the four");
  });

  it("holds a shared limit across gateways within burst + rate × (window + lease time)", async () => {
    const clock = new ManualClock();
    const shared = new MemoryRateLimiter(clock);
    const gateways = [0, 1, 2].map(() => new LeasedRateLimiter({ leases: shared, clock, leaseMs: LEASE_MS }));
    const spec = { rate: 500, burst: 100 };
    // Each millisecond every gateway tries 2 takes: 6,000/s offered against 500/s.
    const allowedAt: number[] = [];
    const t0 = clock.now();
    for (let ms = 0; ms < 2000; ms++) {
      for (const g of gateways) for (let i = 0; i < 2; i++) if ((await g.take("u", spec)).allowed) allowedAt.push(clock.now() - t0);
      clock.advance(1);
    }
    const bound = (w: number) => spec.burst + (spec.rate * (w + LEASE_MS)) / 1000;
    for (const w of [50, 200, 1000, 2000]) {
      for (let s = 0; s + w <= 2000; s += 25) {
        const n = allowedAt.filter((t) => t >= s && t < s + w).length;
        assert.ok(n <= bound(w), `${n} admitted in [${s}, ${s + w}) ms, bound ${bound(w)}`);
      }
    }
    assert.ok(allowedAt.length >= spec.burst + spec.rate * 2 * 0.9, `${allowedAt.length} admitted in 2 s: not much less than the limit`);
  });

  it("spends what it holds, then fails with the shared bucket (the fallback takes over)", async () => {
    const clock = new ManualClock();
    let down = false;
    const shared = new MemoryRateLimiter(clock);
    const leases: BucketLeases = {
      lease: (key, spec, least, want) => (down ? Promise.reject(new Error("redis down")) : shared.lease(key, spec, least, want)),
    };
    const rl = new LeasedRateLimiter({ leases, clock, leaseMs: LEASE_MS });
    for (let i = 0; i < 4; i++) await rl.take("k", fast);
    assert.equal(rl.held("k"), 3, "leases of 1, 2 and 4");
    down = true;
    assert.equal((await rl.take("k", fast)).allowed, true, "the lease held is spent");
    await assert.rejects(rl.take("k", { rate: 1000, burst: 1000 }, 5));
    const fallback = new FallbackRateLimiter(rl, new MemoryRateLimiter(clock));
    assert.equal((await fallback.take("k", fast, 5)).allowed, true, "the gateway's own bucket answers");
  });
});

describe("LeasedUsageCounters", () => {
  const start = 1_700_000_000_000 - (1_700_000_000_000 % DAY_MS) + 1000;

  /** Shared counters whose reservations are counted (what would be Redis round trips). */
  function counting(clock: ManualClock) {
    const inner = new MemoryUsageCounters(clock);
    const calls = { reserve: 0 };
    return {
      calls,
      inner,
      counters: Object.assign(Object.create(inner) as MemoryUsageCounters, {
        reserve: (...a: Parameters<MemoryUsageCounters["reserve"]>) => {
          calls.reserve++;
          return inner.reserve(...a);
        },
        release: (...a: Parameters<MemoryUsageCounters["release"]>) => inner.release(...a),
        add: (...a: Parameters<MemoryUsageCounters["add"]>) => inner.add(...a),
        forget: (s: string) => inner.forget(s),
      }),
    };
  }

  it("reserves blocks doubling while the adds come faster, up to 1 % of the limit", async () => {
    const clock = new ManualClock(start);
    const { calls, counters } = counting(clock);
    const c = new LeasedUsageCounters({ inner: counters, clock, leaseMs: LEASE_MS });
    for (let i = 0; i < 1000; i++) assert.equal((await c.add("d:u", MINUTE_MS, 1, 20_000)).allowed, true);
    // Blocks of 1, 2, 4, … 128, then 200 (1 % of 20,000): 8 + 4 = 12 for 1,000 adds (255 + 4 × 200 ≥ 1,000).
    assert.equal(calls.reserve, 12);
  });

  it("never passes a limit across gateways, and refuses early by at most the others' blocks, given back by the sweep", async () => {
    const clock = new ManualClock(start);
    const shared = new MemoryUsageCounters(clock);
    const [a, b] = [0, 1].map(() => new LeasedUsageCounters({ inner: shared, clock, leaseMs: LEASE_MS }));
    const limit = 1000;
    let allowed = 0;
    for (let i = 0; i < 600; i++) {
      for (const g of [a, b]) if ((await (g as LeasedUsageCounters).add("e:u", DAY_MS, 1, limit)).allowed) allowed++;
    }
    assert.equal(allowed, limit, "1,200 offered: exactly the limit admitted");
    assert.equal((await shared.add("e:u", DAY_MS, 0, limit)).used, limit);

    const clock2 = new ManualClock(start);
    const shared2 = new MemoryUsageCounters(clock2);
    const [c, d] = [0, 1].map(() => new LeasedUsageCounters({ inner: shared2, clock: clock2, leaseMs: LEASE_MS }));
    for (let i = 0; i < 200; i++) await (c as LeasedUsageCounters).add("e:u", DAY_MS, 1, limit);
    const heldByC = (c as LeasedUsageCounters).held("e:u", DAY_MS);
    assert.ok(heldByC > 0 && heldByC <= limit * 0.01, `c holds ${heldByC}`);
    assert.equal((await (c as LeasedUsageCounters).add("e:u", DAY_MS, 0, limit)).used, 200, "c's read leaves out its own block");
    assert.equal((await (d as LeasedUsageCounters).add("e:u", DAY_MS, 0, limit)).used, 200 + heldByC, "d's shows c's block");
    clock2.advance(LEASE_MS + 1);
    await (c as LeasedUsageCounters).sweep();
    assert.equal((await shared2.add("e:u", DAY_MS, 0, limit)).used, 200, "the sweep gave the unspent block back");
  });

  it("returns a failed write's give-back to its block, the rest to the shared counter", async () => {
    const clock = new ManualClock(start);
    const shared = new MemoryUsageCounters(clock);
    await shared.add("e:u", DAY_MS, 5, 100);
    const c = new LeasedUsageCounters({ inner: shared, clock, leaseMs: LEASE_MS });
    await c.add("e:u", DAY_MS, 3, 100);
    await c.add("e:u", DAY_MS, -4, 100);
    assert.equal(c.held("e:u", DAY_MS), 3, "the 3 spent from the block are back in it");
    await c.sweep(true);
    assert.equal((await shared.add("e:u", DAY_MS, 0, 100)).used, 4, "5 + 3 − 4");
  });

  it("drops a block when its window ends, and gives back nothing into the next", async () => {
    const clock = new ManualClock(start);
    const shared = new MemoryUsageCounters(clock);
    const c = new LeasedUsageCounters({ inner: shared, clock, leaseMs: 60_000 });
    for (let i = 0; i < 8; i++) await c.add("d:u", MINUTE_MS, 1, 10_000);
    assert.ok(c.held("d:u", MINUTE_MS) > 0);
    clock.advance(MINUTE_MS);
    assert.deepEqual(await c.add("d:u", MINUTE_MS, 1, 10_000), { allowed: true, used: 1, resetAt: start - 1000 + 2 * MINUTE_MS });
    await c.sweep(true);
    assert.equal((await shared.add("d:u", MINUTE_MS, 0, 10_000)).used, 1);
  });

  it("spends its block while the shared counters fail, then the fallback counts alone", async () => {
    const clock = new ManualClock(start);
    const shared = new MemoryUsageCounters(clock);
    let down = false;
    const inner = Object.assign(Object.create(shared) as MemoryUsageCounters, {
      add: (...a: Parameters<MemoryUsageCounters["add"]>) => (down ? Promise.reject(new Error("down")) : shared.add(...a)),
      reserve: (...a: Parameters<MemoryUsageCounters["reserve"]>) => (down ? Promise.reject(new Error("down")) : shared.reserve(...a)),
      release: (...a: Parameters<MemoryUsageCounters["release"]>) => shared.release(...a),
      forget: (s: string) => shared.forget(s),
    });
    const leased = new LeasedUsageCounters({ inner, clock, leaseMs: LEASE_MS });
    const c = new FallbackUsageCounters(leased, new MemoryUsageCounters(clock));
    for (let i = 0; i < 4; i++) await c.add("d:u", MINUTE_MS, 1, 1000);
    assert.equal(leased.held("d:u", MINUTE_MS), 3, "blocks of 1, 2 and 4");
    down = true;
    assert.equal((await c.add("d:u", MINUTE_MS, 1, 1000)).allowed, true, "from the block");
    assert.equal(c.degraded, false);
    assert.equal((await c.add("d:u", MINUTE_MS, 5, 1000)).allowed, true, "from the gateway's own counters");
    assert.equal(c.degraded, true);
  });
});
