import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { AuthFailureAudit } from "../../../src/server/auth-failures.js";
import { Metrics } from "../../../src/server/metrics.js";

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);

function setup() {
  const clock = new ManualClock(T0);
  const audit = new MemoryAuditLog(clock, SecretKey.fromBase64(Buffer.alloc(32, 4).toString("base64")));
  const metrics = new Metrics();
  const warnings: string[] = [];
  const failures = new AuthFailureAudit({ audit, metrics, clock, warn: (_o, msg) => warnings.push(msg) });
  const counted = async () => {
    const text = await metrics.registry.getSingleMetricAsString("styx_auth_failures_total");
    return new Map(
      [...text.matchAll(/^styx_auth_failures_total\{transport="(\w+)",reason="(\w+)"\} (\d+)$/gm)].map((m) => [
        `${m[1]} ${m[2]}`,
        Number(m[3]),
      ]),
    );
  };
  return { clock, audit, failures, counted, warnings };
}

describe("AuthFailureAudit", () => {
  before(initCrypto);

  it("counts each failure at once and audits an address's minute once it is over", async () => {
    const t = setup();
    for (let i = 0; i < 1000; i++) t.failures.refused("http", "198.51.100.7", "STYX_AUTH_INVALID_KEY", "admin");
    t.failures.refused("ws", "198.51.100.7", "STYX_AUTH_INVALID_KEY");
    t.failures.refused("http", "198.51.100.8", "STYX_AUTH_REQUIRED");
    const counted = await t.counted();
    assert.equal(counted.get("http admin_token"), 1000);
    assert.equal(counted.get("ws invalid"), 1);
    assert.equal(counted.get("http missing"), 1);
    assert.equal(counted.get("ws wallet"), 0, "every series exists from the start");
    await t.failures.flushEnded();
    assert.equal((await t.audit.list(0, 10)).length, 0, "the minute is not over");
    t.clock.advance(60_000);
    await t.failures.flushEnded();
    const records = await t.audit.list(0, 10);
    assert.deepEqual(
      records.map((r) => [r.action, r.ip, JSON.parse(r.details).count, JSON.parse(r.details).reasons]),
      [
        ["auth.failed", "198.51.100.7", 1001, { invalid: 1, admin_token: 1000 }],
        ["auth.failed", "198.51.100.8", 1, { missing: 1 }],
      ],
    );
    assert.equal((await t.audit.verify()).ok, true);
  });

  it("ignores errors that are no failed authentication", async () => {
    const t = setup();
    for (const code of ["STYX_DEPENDENCY_UNAVAILABLE", "STYX_RATE_LIMITED", "STYX_NOT_FOUND"]) t.failures.refused("http", "10.0.0.1", code);
    t.failures.refused("http", "10.0.0.1", "STYX_AUTH_FORBIDDEN");
    t.failures.refused("http", "10.0.0.1", "STYX_GOLEM_DEAD");
    await t.failures.close();
    assert.equal((await t.audit.list(0, 10)).length, 0);
    const counted = await t.counted();
    assert.equal(counted.size, 10, "two transports × five reasons");
    assert.ok([...counted.values()].every((n) => n === 0));
  });

  it("writes the minute under way at close", async () => {
    const t = setup();
    t.failures.refused("http", "10.0.0.1", "STYX_AUTH_INVALID_SIGNATURE");
    await t.failures.close();
    const [r] = await t.audit.list(0, 10);
    assert.equal(r?.action, "auth.failed");
    assert.deepEqual(JSON.parse(r?.details ?? "{}").reasons, { wallet: 1 });
  });

  it("logs an append that failed and goes on", async () => {
    const clock = new ManualClock(T0);
    const warnings: string[] = [];
    const failures = new AuthFailureAudit({
      audit: { append: async () => Promise.reject(new Error("database down")) },
      metrics: new Metrics(),
      clock,
      warn: (_o, msg) => warnings.push(msg),
    });
    failures.refused("http", "10.0.0.1", "STYX_AUTH_INVALID_KEY");
    await failures.close();
    assert.deepEqual(warnings, ["a failed-authentication audit record was not written"]);
  });
});
