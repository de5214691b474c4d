import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MemoryRateLimiter } from "../../src/adapters/memory/memory-rate-limiter.js";
import { MemorySocketCounts } from "../../src/adapters/memory/memory-socket-counts.js";
import { MemoryUsageCounters } from "../../src/adapters/memory/memory-usage-counters.js";
import { migratePostgres, openPostgres } from "../../src/adapters/postgres/database.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import { connectRedis, openRedis, type RedisConnection } from "../../src/adapters/redis/redis-connection.js";
import { RedisPheromoneCache } from "../../src/adapters/redis/redis-pheromone-cache.js";
import { RedisPresence } from "../../src/adapters/redis/redis-presence.js";
import { RedisPulseStore } from "../../src/adapters/redis/redis-pulse-store.js";
import { RedisRateLimiter } from "../../src/adapters/redis/redis-rate-limiter.js";
import { RedisSocketCounts } from "../../src/adapters/redis/redis-socket-counts.js";
import { RedisUsageCounters } from "../../src/adapters/redis/redis-usage-counters.js";
import { openDatabase } from "../../src/adapters/sqlite/database.js";
import { SqliteFederationStore } from "../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqlitePheromoneStore } from "../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { FallbackRateLimiter, FallbackUsageCounters } from "../../src/app/fallback-rate-limiter.js";
import { FallbackSocketCounts } from "../../src/app/fallback-socket-counts.js";
import type { PheromoneDeposit, PheromoneStore } from "../../src/core/coordination/pheromone-store.js";
import { ManualClock, systemClock } from "../../src/core/platform/clock.js";
import { type BucketLeases, LeasedRateLimiter } from "../../src/core/platform/leased-rate-limiter.js";
import { LeasedUsageCounters } from "../../src/core/quota/leased-counters.js";
import { DAY_MS } from "../../src/core/quota/usage-counters.js";
import { describePheromoneStoreContract } from "../../src/testing/contracts/coordination.contract.js";
import { pheromoneRecord } from "../../src/testing/contracts/federation-fixtures.js";
import { describeBucketLeasesContract, describeCounterReservationsContract } from "../../src/testing/contracts/limit-leases.contract.js";
import { describePresenceContract } from "../../src/testing/contracts/presence.contract.js";
import { describePulseStoreContract } from "../../src/testing/contracts/pulse-store.contract.js";
import { describeRateLimiterContract } from "../../src/testing/contracts/rate-limiter.contract.js";
import { describeSocketCountsContract } from "../../src/testing/contracts/socket-counts.contract.js";
import { describeUsageCountersContract } from "../../src/testing/contracts/usage-counters.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

const opened: RedisConnection[] = [];
/** Clients of a Redis nobody listens on (port 1): every command fails at once. */
const unreachable: RedisConnection[] = [];
const clusters = new Set<string>();

/** A connected client of `cluster`, closed and its keys deleted after the file's tests. */
async function conn(cluster: string): Promise<RedisConnection> {
  const c = await connectRedis({ url: SERVICES.redisUrl, prefix: `${cluster}:` });
  clusters.add(cluster);
  opened.push(c);
  return c;
}

after(async () => {
  // Only our prefixes, key by key: the Redis is shared, so never FLUSHDB.
  if (clusters.size === 0) return;
  // Fails instead of waiting forever if Redis went away meanwhile (the file must end, and fail).
  const admin = new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  await new Promise((resolve, reject) => admin.once("ready", resolve).once("error", reject));
  for (const cluster of clusters) {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${cluster}:*`, "COUNT", 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  await admin.quit();
  for (const c of opened) await c.close();
  for (const c of unreachable) await c.close();
});

describePulseStoreContract("redis (two connections of one cluster)", async () => {
  const cluster = newCluster();
  return [new RedisPulseStore((await conn(cluster)).client), new RedisPulseStore((await conn(cluster)).client)];
});
describeRateLimiterContract("redis (injected clock)", async (clock) => new RedisRateLimiter((await conn(newCluster())).client, { clock }));

// The macronode's limiter: shared buckets while Redis answers, this process's own while it does not.
describeRateLimiterContract(
  "fallback (Redis up: shared buckets)",
  async (clock) =>
    new FallbackRateLimiter(new RedisRateLimiter((await conn(newCluster())).client, { clock }), new MemoryRateLimiter(clock)),
);
describeRateLimiterContract("fallback (Redis down: local buckets)", (clock) => {
  const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
  unreachable.push(dead);
  return new FallbackRateLimiter(new RedisRateLimiter(dead.client, { clock }), new MemoryRateLimiter(clock));
});

describeUsageCountersContract(
  "redis (injected clock)",
  async (clock) => new RedisUsageCounters((await conn(newCluster())).client, { clock }),
);
describeUsageCountersContract(
  "fallback (Redis up: shared counters)",
  async (clock) =>
    new FallbackUsageCounters(new RedisUsageCounters((await conn(newCluster())).client, { clock }), new MemoryUsageCounters(clock)),
);
describeUsageCountersContract("fallback (Redis down: local counters)", (clock) => {
  const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
  unreachable.push(dead);
  return new FallbackUsageCounters(new RedisUsageCounters(dead.client, { clock }), new MemoryUsageCounters(clock));
});

// Leases (issue 22): blocks a gateway spends without a round trip per take, on the same keys and scripts.
describeBucketLeasesContract("redis (injected clock)", async (clock) => new RedisRateLimiter((await conn(newCluster())).client, { clock }));
describeCounterReservationsContract(
  "redis (injected clock)",
  async (clock) => new RedisUsageCounters((await conn(newCluster())).client, { clock }),
);
describeRateLimiterContract(
  "leased over redis (injected clock)",
  async (clock) =>
    new LeasedRateLimiter({ leases: new RedisRateLimiter((await conn(newCluster())).client, { clock }), clock, leaseMs: 100 }),
);
describeUsageCountersContract(
  "leased over redis (injected clock)",
  async (clock) =>
    new LeasedUsageCounters({ inner: new RedisUsageCounters((await conn(newCluster())).client, { clock }), clock, leaseMs: 100 }),
);

describe("Leased limits of two gateways over one Redis (the server's clock)", () => {
  it("hold a shared bucket within burst + rate × (window + lease time), with a lease per many takes", { timeout: 30_000 }, async (t) => {
    const cluster = newCluster();
    const leaseMs = 100;
    const spec = { rate: 400, burst: 40 };
    const calls = [0, 0];
    const gateways = await Promise.all(
      [0, 1].map(async (i) => {
        const redis = new RedisRateLimiter((await conn(cluster)).client);
        const leases: BucketLeases = {
          lease: (...a) => {
            calls[i] = (calls[i] ?? 0) + 1;
            return redis.lease(...a);
          },
        };
        return new LeasedRateLimiter({ leases, clock: systemClock, leaseMs });
      }),
    );
    const admitted: number[] = [];
    let taken = 0;
    const t0 = Date.now();
    const runFor = 1500;
    await Promise.all(
      gateways.map(async (g) => {
        // Four requests in flight per gateway, as many as it can: far more than 400/s offered.
        await Promise.all(
          [0, 1, 2, 3].map(async () => {
            while (Date.now() - t0 < runFor) {
              taken++;
              if ((await g.take("user:u", spec)).allowed) admitted.push(Date.now() - t0);
            }
          }),
        );
      }),
    );
    const slack = 2; // a lease's time on the server and its admission's here differ by a round trip
    const bound = (w: number) => spec.burst + (spec.rate * (w + leaseMs)) / 1000 + slack;
    for (const w of [100, 500, runFor]) {
      for (let s = 0; s + w <= runFor; s += 50) {
        const n = admitted.filter((t) => t >= s && t < s + w).length;
        assert.ok(n <= bound(w), `${n} admitted in [${s}, ${s + w}) ms, bound ${bound(w)}`);
      }
    }
    const limit = spec.burst + (spec.rate * runFor) / 1000;
    assert.ok(admitted.length >= 0.8 * limit, `${admitted.length} of ${taken} admitted; the limit allows ${limit}`);
    const leases = (calls[0] ?? 0) + (calls[1] ?? 0);
    t.diagnostic(`${admitted.length} admitted of ${taken} takes in ${runFor} ms (limit ${limit}); ${leases} leases`);
    assert.ok(leases < taken / 5, `${leases} leases (Redis round trips) for ${taken} takes`);
  });

  it("never pass a quota across gateways, refuse early by at most a block each, and give the blocks back", async (t) => {
    const cluster = newCluster();
    const redis = [new RedisUsageCounters((await conn(cluster)).client), new RedisUsageCounters((await conn(cluster)).client)];
    const [a, b] = redis.map((inner) => new LeasedUsageCounters({ inner, clock: systemClock, leaseMs: 60_000 }));
    assert.ok(a && b);
    const limit = 500;
    let allowed = 0;
    const refusedAt: number[] = [];
    await Promise.all(
      [a, b, a, b].map(async (g) => {
        for (let i = 0; i < 200; i++) {
          const r = await g.add("entries_per_day:u", DAY_MS, 1, limit);
          if (r.allowed) allowed++;
          else refusedAt.push(allowed);
        }
      }),
    );
    t.diagnostic(`${allowed} of 800 adds admitted under a limit of ${limit}`);
    assert.ok(allowed <= limit, `${allowed} admitted past the limit ${limit}`);
    assert.ok(allowed >= limit - limit * 0.01, `${allowed}: refused earlier than one block of the other gateway`);
    await Promise.all([a.sweep(true), b.sweep(true)]);
    const after = (await (redis[0] as RedisUsageCounters).add("entries_per_day:u", DAY_MS, 0, limit)).used;
    assert.equal(after, allowed, "the count in Redis is what was spent once the blocks are back");
  });
});

describe("RedisUsageCounters across gateways", () => {
  it("counts one user's adds from two gateways in one window, on the Redis server's clock", async () => {
    const cluster = newCluster();
    const a = new RedisUsageCounters((await conn(cluster)).client);
    const b = new RedisUsageCounters((await conn(cluster)).client);
    const results = await Promise.all([...Array(40).keys()].map((i) => (i % 2 ? a : b).add("deposits_per_minute:usr_1", 60_000, 1, 25)));
    assert.equal(results.filter((r) => r.allowed).length, 25);
    const read = await a.add("deposits_per_minute:usr_1", 60_000, 0, 25);
    assert.equal(read.used, 25);
    assert.ok(read.resetAt > Date.now() - 5_000 && read.resetAt <= Date.now() + 65_000, `window ends ${read.resetAt}`);
  });
});

describe("RedisRateLimiter across gateways", () => {
  it("limits a burst split across two connections as one bucket, on the server's clock", async () => {
    const cluster = newCluster();
    const [a, b] = [await conn(cluster), await conn(cluster)];
    const limiters = [new RedisRateLimiter(a.client), new RedisRateLimiter(b.client)];
    const spec = { rate: 0.001, burst: 10 };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (limiters[i % 2] as RedisRateLimiter).take("key:k1", spec)));
    assert.equal(results.filter((r) => r.allowed).length, 10, "ten of twenty allowed in all");
    const refused = results.find((r) => !r.allowed);
    assert.ok(refused && refused.retryAfterMs > 900_000, "the next token is ~1000 s away at 0.001/s");
    const ttl = await a.client.pttl("rl:key:k1");
    assert.ok(ttl > 0 && ttl <= 10_000_000, `the key expires when the bucket is full again (pttl ${ttl})`);
  });

  it("drops the key of a bucket that is full again", async () => {
    const c = await conn(newCluster());
    const rl = new RedisRateLimiter(c.client);
    assert.equal((await rl.take("k", { rate: 1000, burst: 1 })).allowed, true);
    const deadline = Date.now() + 1000;
    while ((await c.client.exists("rl:k")) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await c.client.exists("rl:k"), 0, "refilled in 1 ms, so the key expired");
  });

  it("fails a take at once, not after a queue, while Redis is unreachable; health says down", async () => {
    const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
    try {
      const rl = new RedisRateLimiter(dead.client);
      const start = performance.now();
      await assert.rejects(rl.take("k", { rate: 1, burst: 1 }));
      assert.ok(performance.now() - start < 200, "the error comes in well under a second");
      const health = await dead.check();
      assert.equal(health.status, "down");
      await assert.rejects(dead.ready(100), /not reachable/);
    } finally {
      await dead.close();
    }
    const live = await conn(newCluster());
    assert.equal((await live.check()).status, "up");
  });
});

describeSocketCountsContract(
  "redis (injected clock)",
  async (clock) => new RedisSocketCounts((await conn(newCluster())).client, { clock }),
);
describeSocketCountsContract(
  "fallback (Redis up: cluster counts)",
  async (clock) =>
    new FallbackSocketCounts(new RedisSocketCounts((await conn(newCluster())).client, { clock }), new MemorySocketCounts(clock)),
);
describeSocketCountsContract("fallback (Redis down: local counts)", (clock) => {
  const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
  unreachable.push(dead);
  return new FallbackSocketCounts(new RedisSocketCounts(dead.client, { clock }), new MemorySocketCounts(clock));
});

describe("RedisSocketCounts across gateways", () => {
  it("holds one user's cap across two gateways' connections, on the server's clock", async () => {
    const cluster = newCluster();
    const [a, b] = [await conn(cluster), await conn(cluster)];
    const gateways = [new RedisSocketCounts(a.client), new RedisSocketCounts(b.client)];
    const claim = [{ key: "user:u1", limit: 3 }];
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (gateways[i % 2] as RedisSocketCounts).claim(`s${i}`, claim, 60_000)),
    );
    assert.equal(results.filter((r) => r.ok).length, 3, "three of eight admitted in all");
    assert.equal(await a.client.zcard("sk:user:u1"), 3);
    const ttl = await a.client.pttl("sk:user:u1");
    assert.ok(ttl > 0 && ttl <= 60_000, `the key expires with its last entry (pttl ${ttl})`);
    for (let i = 0; i < 8; i++) await gateways[1]?.release(`s${i}`, ["user:u1"]);
    assert.equal(await a.client.exists("sk:user:u1"), 0, "no entries, no key");
  });

  it("counts the sockets a gateway admitted during an outage once Redis is back (its next refresh)", async () => {
    const clock = new ManualClock();
    const live = await conn(newCluster());
    const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
    unreachable.push(dead);
    const local = new MemorySocketCounts(clock);
    const during = new FallbackSocketCounts(new RedisSocketCounts(dead.client, { clock }), local);
    assert.deepEqual(await during.claim("s1", [{ key: "user:u", limit: 1 }], 60_000), { ok: true });
    assert.equal(during.degraded, true);
    assert.deepEqual(
      await during.claim("s2", [{ key: "user:u", limit: 1 }], 60_000),
      { ok: false, index: 0, used: 1 },
      "local counts hold the cap per gateway",
    );
    const after = new FallbackSocketCounts(new RedisSocketCounts(live.client, { clock }), local);
    await after.refresh([{ id: "s1", keys: ["user:u"] }], 60_000);
    assert.deepEqual(await new RedisSocketCounts(live.client, { clock }).claim("s3", [{ key: "user:u", limit: 1 }], 60_000), {
      ok: false,
      index: 0,
      used: 1,
    });
  });
});

describePresenceContract("redis", async () => new RedisPresence((await conn(newCluster())).client));

describePheromoneStoreContract(
  "redis cache over sqlite",
  async () =>
    new RedisPheromoneCache({ inner: new SqlitePheromoneStore(openDatabase(":memory:")), redis: (await conn(newCluster())).client }),
);

// The macronode's composition: the Redis read cache over the PostgreSQL field, on a schema of its own.
// Migrated on first use: a top-level await here would let the file's root end (and its after
// hooks close the Redis clients) before the suites registered below it had run.
const pgSchema = newCluster();
const pg = openPostgres(SERVICES.databaseUrl, { schema: pgSchema, max: 4 });
let migrated: Promise<unknown> | undefined;
after(async () => {
  if (migrated) await pg`DROP SCHEMA ${pg(pgSchema)} CASCADE`;
  await pg.end();
});
describePheromoneStoreContract("redis cache over postgres", async () => {
  migrated ??= migratePostgres(pg, pgSchema);
  await migrated;
  await pg`TRUNCATE pheromones, pheromone_sources, pheromone_vectors CASCADE`;
  return new RedisPheromoneCache({ inner: new PostgresPheromoneStore(pg), redis: (await conn(newCluster())).client });
});

const T0 = 1_800_000_000_000;
function dep(over: Partial<PheromoneDeposit> = {}): PheromoneDeposit {
  return {
    id: `phe_${Math.random().toString(36).slice(2)}`,
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: "src-a",
    metadata: { n: 1 },
    hv: null,
    ...over,
  };
}

/** The inner store, counting the reads that reach it. */
function counting(inner: PheromoneStore): PheromoneStore & { reads: number } {
  const s = {
    reads: 0,
    deposit: inner.deposit.bind(inner),
    live: (d: readonly string[], r: string | undefined, now: number) => {
      s.reads++;
      return inner.live(d, r, now);
    },
    allLive: inner.allLive.bind(inner),
    countLive: inner.countLive.bind(inner),
    evaporate: inner.evaporate.bind(inner),
    pageLive: inner.pageLive.bind(inner),
  };
  return s;
}

describe("RedisPheromoneCache", () => {
  it("shows a deposit through gateway A to gateway B at once, and serves warm reads from Redis", async () => {
    const cluster = newCluster();
    const inner = counting(new SqlitePheromoneStore(openDatabase(":memory:")));
    const a = new RedisPheromoneCache({ inner, redis: (await conn(cluster)).client });
    const b = new RedisPheromoneCache({ inner, redis: (await conn(cluster)).client });
    const hv = new Uint8Array(1280).map((_, i) => (i * 37) & 0xff);
    await a.deposit(dep({ class: "first", hv }), T0);
    const warm = await b.live(["defi"], undefined, T0);
    assert.equal(warm.length, 1);
    assert.equal(inner.reads, 1);
    const again = await a.live(["defi"], "bull", T0 + 10);
    assert.equal(inner.reads, 1, "the second read, through the other gateway, came from Redis");
    assert.deepEqual(again[0]?.hv, hv, "hypervectors survive the cache");
    assert.deepEqual(again[0], warm[0]);
    await a.deposit(dep({ class: "second" }), T0 + 20);
    const seen = await b.live(["defi"], undefined, T0 + 20);
    assert.deepEqual(seen.map((p) => p.class).sort(), ["first", "second"], "B sees A's deposit without waiting for the TTL");
    assert.deepEqual(await b.live(["defi"], "bear", T0 + 20), [], "the regime filter applies to cached rows");
  });

  it("drops every domain on evaporate and keeps faded rows out of cached answers", async () => {
    const cluster = newCluster();
    const inner = counting(new SqlitePheromoneStore(openDatabase(":memory:")));
    const cache = new RedisPheromoneCache({ inner, redis: (await conn(cluster)).client });
    await cache.deposit(dep({ domain: "d1", intensity: 0.1 }), T0);
    await cache.deposit(dep({ domain: "d2", intensity: 0.9 }), T0);
    assert.equal((await cache.live(["d1", "d2"], undefined, T0)).length, 2);
    const gone = T0 + 2 * 3_600_000 + 1;
    assert.equal((await cache.live(["d1", "d2"], undefined, gone)).length, 1, "decay is computed on cached rows");
    const reads = inner.reads;
    assert.equal(await cache.evaporate(gone), 1);
    assert.equal((await cache.live(["d1", "d2"], undefined, gone)).length, 1);
    assert.equal(inner.reads, reads + 1, "evaporation invalidated both domains");
  });

  it("hands a deposit's outbox entry to the inner store, which queues it with the deposit", async () => {
    const db = openDatabase(":memory:");
    const cache = new RedisPheromoneCache({ inner: new SqlitePheromoneStore(db), redis: (await conn(newCluster())).client });
    const record = pheromoneRecord("phe_fed");
    await cache.deposit(dep({ id: "phe_fed" }), T0, { record, enqueuedAt: T0, up: true, down: false });
    assert.deepEqual(
      (await new SqliteFederationStore(db).due(T0, 10)).map((i) => i.record),
      [record],
    );
  });

  it("falls back to the inner store while Redis is unreachable", async () => {
    const inner = new SqlitePheromoneStore(openDatabase(":memory:"));
    const dead = openRedis({ url: "redis://127.0.0.1:1", prefix: "nowhere:" });
    const errors: unknown[] = [];
    try {
      const cache = new RedisPheromoneCache({ inner, redis: dead.client, onError: (e) => errors.push(e) });
      await cache.deposit(dep(), T0);
      assert.equal((await cache.live(["defi"], undefined, T0)).length, 1);
      assert.ok(errors.length >= 2, "the failures were reported, not thrown");
    } finally {
      await dead.close();
    }
  });
});
