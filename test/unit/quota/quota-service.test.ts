import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { MemoryUsageCounters } from "../../../src/adapters/memory/memory-usage-counters.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { SqliteQuotaStore } from "../../../src/adapters/sqlite/sqlite-quota-store.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { KnowledgeService, type WriteEntryInput } from "../../../src/core/knowledge/knowledge-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { tierTable } from "../../../src/core/quota/limits.js";
import { LIMITS_CACHE_MS, QuotaService } from "../../../src/core/quota/quota-service.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const MINUTE = 60_000;
const g1 = aliveGolem("glm_q1aa", "usr_q1");
const g2 = aliveGolem("glm_q2aa", "usr_q2");

/** The quota service over SQLite in RAM and memory counters, charged by real knowledge and pheromone services. */
async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 9, 30));
  const db = openDatabase(":memory:");
  const users = new SqliteIdentityStore(db);
  const audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
  const identity = new IdentityService({ store: users, audit, clock, defaultTier: "observer" });
  for (const id of ["usr_q1", "usr_q2"]) await identity.createUser("admin", { id });
  const entries = new SqliteEntryStore(db);
  const quotas = new QuotaService({
    table: tierTable("observer", { rate: 10, burst: 20 }, {}),
    defaultTier: "observer",
    users,
    store: new SqliteQuotaStore(db),
    counters: new MemoryUsageCounters(clock),
    entries,
    audit,
    clock,
  });
  const pipeline = testPipeline();
  const knowledge = new KnowledgeService({
    store: entries,
    vectors: new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 }),
    clock,
    blobs: new MemoryBlobStore(),
    quota: quotas,
    dimensions: 4,
    letheDelay: { minMs: MINUTE, maxMs: MINUTE },
    letheK: 1,
    key: TEST_SECRET_KEY,
    pipeline,
  });
  const recorded = await recordingBus(clock);
  const pheromones = new PheromoneService({
    store: new SqlitePheromoneStore(db),
    bus: recorded.bus,
    clock,
    key: TEST_SECRET_KEY,
    pipeline,
    quota: quotas,
  });
  const blobs = new MemoryBlobStore();
  return { clock, quotas, knowledge, pheromones, blobs, audit, identity };
}

function entry(golem: Golem, over: Partial<WriteEntryInput> = {}): WriteEntryInput {
  return { golem, layer: "vault", category: "insight", content: "funding flips negative", ...over };
}

const refusal = (quota: string, limit: number, used: number) => (err: unknown) => {
  assert.ok(err instanceof StyxError, String(err));
  assert.equal(err.code, "STYX_QUOTA_EXCEEDED");
  assert.equal(err.status, 429);
  const d = err.details as { quota: string; limit: number; used: number };
  assert.deepEqual([d.quota, d.limit, d.used], [quota, limit, used]);
  return true;
};

async function* bytes(n: number) {
  yield new Uint8Array(n).fill(1);
}

describe("QuotaService", () => {
  it("gives users their tier's limits, and an override's cells over them", async () => {
    const { quotas } = await setup();
    assert.deepEqual((await quotas.limitsOf("usr_q1")).rate, { rate: 10, burst: 20 });
    await quotas.setOverride("admin", "usr_q1", { burst: 3, quotas: { entries_per_day: 7 } });
    const l = await quotas.limitsOf("usr_q1");
    assert.deepEqual(l.rate, { rate: 10, burst: 3 });
    assert.equal(l.quotas.entries_per_day, 7);
    assert.equal(l.quotas.stored_bytes, 10 * 1024 * 1024, "the observer tier's");
    assert.equal((await quotas.limitsOf("usr_q2")).quotas.entries_per_day, 1_000, "another user keeps the tier's");
  });

  it("remembers limits for LIMITS_CACHE_MS, forgets them at once when told", async () => {
    const clock = new ManualClock(0);
    const db = openDatabase(":memory:");
    const store = new SqliteQuotaStore(db);
    const quotas = new QuotaService({
      table: tierTable("consumer", { rate: 50, burst: 100 }, {}),
      defaultTier: "consumer",
      users: new SqliteIdentityStore(db),
      store,
      counters: new MemoryUsageCounters(clock),
      entries: new SqliteEntryStore(db),
      audit: new MemoryAuditLog(clock, TEST_SECRET_KEY),
      clock,
    });
    assert.equal((await quotas.limitsOf("usr_x")).rate.burst, 100, "an unknown user gets the default tier");
    // Another gateway sets the override: this one sees it after the cache's time, or at once when signalled.
    await store.setOverride("usr_x", { burst: 5 }, 0);
    assert.equal((await quotas.limitsOf("usr_x")).rate.burst, 100);
    clock.advance(LIMITS_CACHE_MS);
    assert.equal((await quotas.limitsOf("usr_x")).rate.burst, 5);
    await store.setOverride("usr_x", { burst: 6 }, 0);
    quotas.forget("usr_x");
    assert.equal((await quotas.limitsOf("usr_x")).rate.burst, 6);
  });

  it("refuses entries past entries_per_day with retry_after_ms to the next UTC day, and counts again then", async () => {
    const { quotas, knowledge, clock } = await setup();
    await quotas.setOverride("admin", "usr_q1", { quotas: { entries_per_day: 2 } });
    await knowledge.writeMany([entry(g1), entry(g1, { content: "second" })]);
    await assert.rejects(knowledge.write(entry(g1, { content: "third" })), (err) => {
      refusal("entries_per_day", 2, 2)(err);
      assert.equal((err as { details: { retry_after_ms: number } }).details.retry_after_ms, 14.5 * 3_600_000, "to the next UTC day");
      return true;
    });
    await knowledge.write(entry(g2));
    clock.advance(14.5 * 3_600_000);
    await knowledge.write(entry(g1, { content: "a new day" }));
  });

  it("refuses a batch that would pass a quota whole, counting none of it", async () => {
    const { quotas, knowledge } = await setup();
    await quotas.setOverride("admin", "usr_q1", { quotas: { entries_per_day: 3 } });
    await knowledge.write(entry(g1));
    await assert.rejects(
      knowledge.writeMany([entry(g1, { content: "a" }), entry(g1, { content: "b" }), entry(g1, { content: "c" })]),
      refusal("entries_per_day", 3, 1),
    );
    assert.equal((await quotas.usage("usr_q1")).quotas.get("entries_per_day")?.used, 1);
  });

  it("counts lethe requests against lethe_writes_per_day (observers have none) and gives back both counts when the write fails", async () => {
    const { quotas, knowledge } = await setup();
    const lethe = entry(g1, { layer: "lethe", domain: "perps", confidence: 0.9 });
    await assert.rejects(knowledge.write(lethe), refusal("lethe_writes_per_day", 0, 0));
    assert.equal((await quotas.usage("usr_q1")).quotas.get("entries_per_day")?.used, 0, "the entry charged first was given back");
    await quotas.setOverride("admin", "usr_q1", { quotas: { lethe_writes_per_day: 1 } });
    await knowledge.write(lethe);
    // A write the store refuses (an oversized embedding) gives its charge back.
    await assert.rejects(knowledge.write(entry(g1, { embedding: [1, 2, 3] })), { code: "STYX_VALIDATION" });
    const usage = await quotas.usage("usr_q1");
    assert.deepEqual([usage.quotas.get("entries_per_day")?.used, usage.quotas.get("lethe_writes_per_day")?.used], [1, 1]);
  });

  it("refuses deposits past deposits_per_minute, per user and minute", async () => {
    const { quotas, pheromones, clock } = await setup();
    await quotas.setOverride("admin", "usr_q1", { quotas: { deposits_per_minute: 1 } });
    const d = { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull" } as const;
    await pheromones.deposit(g1, d);
    await assert.rejects(pheromones.deposit(g1, d), refusal("deposits_per_minute", 1, 1));
    await pheromones.deposit(g2, d);
    clock.advance(MINUTE);
    await pheromones.deposit(g1, d);
  });

  it("counts stored bytes of entries and blobs, refusing what would pass the quota", async () => {
    const { quotas, knowledge, blobs } = await setup();
    await quotas.setOverride("admin", "usr_q1", { quotas: { stored_bytes: 100 } });
    await knowledge.write(entry(g1, { content: "x".repeat(40), metadata: { a: 1 } }));
    const used = 40 + JSON.stringify({ a: 1 }).length;
    await assert.rejects(knowledge.write(entry(g1, { content: "y".repeat(60) })), refusal("stored_bytes", 100, used));
    const put = (n: number) => quotas.putBlob("usr_q1", bytes(n), 1_000_000, blobs);
    await assert.rejects(put(60), refusal("stored_bytes", 100, used));
    const sixty = (await blobs.put("usr_q2", bytes(60), { maxBytes: 100 })).cid;
    assert.equal(await blobs.stat("usr_q1", sixty), undefined, "the refused blob was not kept for the user");
    assert.equal((await put(50)).created, true);
    assert.equal((await put(50)).created, false, "the same blob again adds nothing");
    assert.equal((await quotas.usage("usr_q1")).quotas.get("stored_bytes")?.used, used + 50);
    await assert.rejects(put(4), refusal("stored_bytes", 100, used + 50), "3 bytes were left");
    assert.equal((await put(3)).size, 3, "what is left may be used");
    await assert.rejects(put(1), refusal("stored_bytes", 100, 100));
  });

  it("audits overrides as user.limits, clears with an empty one, and refuses unknown users with 404", async () => {
    const { quotas, audit } = await setup();
    await quotas.setOverride("admin", "usr_q1", { rate: 2 }, { requestId: "r1" });
    const report = await quotas.setOverride("admin", "usr_q1", { quotas: {} });
    assert.equal(report.override, undefined);
    assert.deepEqual(report.rate, { rate: 10, burst: 20 });
    const records = (await audit.list(0, 100)).filter((r) => r.action === "user.limits");
    assert.deepEqual(
      records.map((r) => [r.actor, r.target, JSON.parse(String(r.details))]),
      [
        ["admin", "user:usr_q1", { rate: 2 }],
        ["admin", "user:usr_q1", { cleared: true }],
      ],
    );
    await assert.rejects(quotas.setOverride("admin", "usr_none", { rate: 1 }), { code: "STYX_NOT_FOUND" });
    await assert.rejects(quotas.usage("usr_none"), { code: "STYX_NOT_FOUND" });
  });

  it("gives new users the configured default tier", async () => {
    const { identity } = await setup();
    assert.equal((await identity.createUser("admin", { id: "usr_new" })).tier, "observer");
    assert.equal((await identity.createUser("admin", { id: "usr_new2", tier: "steward" })).tier, "steward");
  });
});
