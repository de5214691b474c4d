import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseQuotaOverrides, quotaExceeded, TIER_LIMITS, tierPolicy, tierTable } from "../../../src/core/quota/limits.js";

describe("per-user limits (SPEC §12)", () => {
  it("the tier table has SPEC §12's cells", () => {
    assert.deepEqual(TIER_LIMITS.consumer.rate, { rate: 50, burst: 100 });
    assert.equal(TIER_LIMITS.observer.quotas.lethe_writes_per_day, 0);
    assert.equal(TIER_LIMITS.contributor.quotas.stored_bytes, 1024 ** 3);
    assert.equal(TIER_LIMITS.steward.quotas.sockets_per_ip, 20_000);
    assert.equal(TIER_LIMITS.consumer.quotas.sockets_per_key, 50);
  });

  it("STYX_RATE_LIMIT sets the default tier's bucket, STYX_QUOTAS overrides cells", () => {
    const table = tierTable("observer", { rate: 7, burst: 9 }, parseQuotaOverrides('{"observer":{"burst":11,"entries_per_day":5}}'));
    assert.deepEqual(table.observer.rate, { rate: 7, burst: 11 });
    assert.equal(table.observer.quotas.entries_per_day, 5);
    assert.equal(table.observer.quotas.deposits_per_minute, 60);
    assert.deepEqual(table.consumer, TIER_LIMITS.consumer);
  });

  it("STYX_QUOTAS refuses unknown tiers, unknown cells and bad numbers, naming them", () => {
    assert.throws(() => parseQuotaOverrides("{"), /must be JSON/);
    assert.throws(() => parseQuotaOverrides("[]"), /object of tiers/);
    assert.throws(() => parseQuotaOverrides('{"__proto__":{}}'), /unknown tier '__proto__'/);
    assert.throws(() => parseQuotaOverrides('{"consumer":{"constructor":1}}'), /unknown cell 'constructor'/);
    assert.throws(() => parseQuotaOverrides('{"consumer":{"rate":0}}'), /consumer\.rate must be an integer ≥ 1/);
    assert.throws(() => parseQuotaOverrides('{"consumer":{"stored_bytes":-1}}'), /≥ 0/);
    assert.throws(() => parseQuotaOverrides('{"consumer":{"stored_bytes":1.5}}'), /integer/);
  });

  it("a user without a known tier gets the default tier's limits", async () => {
    const table = tierTable("consumer", { rate: 50, burst: 100 }, {});
    const policy = tierPolicy(table, "consumer", async (id) => (id === "s" ? "steward" : undefined));
    assert.equal((await policy.limitsOf("s")).quotas.stored_bytes, 10 * 1024 ** 3);
    assert.equal((await policy.limitsOf("x")).quotas.stored_bytes, 256 * 1024 ** 2);
  });

  it("the refusal names the quota; a windowed one says when to retry", () => {
    const a = quotaExceeded("stored_bytes", 10, 12);
    assert.equal(a.code, "STYX_QUOTA_EXCEEDED");
    assert.equal(a.status, 429);
    assert.deepEqual(a.details, { quota: "stored_bytes", limit: 10, used: 12 });
    assert.equal(a.retryAfterSeconds, undefined);
    const b = quotaExceeded("deposits_per_minute", 60, 60, 1500.2);
    assert.deepEqual(b.details, { quota: "deposits_per_minute", limit: 60, used: 60, retry_after_ms: 1501 });
    assert.equal(b.retryAfterSeconds, 2);
  });
});
