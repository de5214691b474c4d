import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { TIER_LIMITS } from "../../../src/core/quota/limits.js";
import { Metrics } from "../../../src/server/metrics.js";
import { registerErrors } from "../../../src/server/plugins/errors.js";
import { registerAdmission } from "../../../src/server/plugins/limits.js";

/** The admission hooks in front of one route, with the error handler that shapes refusals. */
async function app(state: { closing: boolean; acceptingWrites: boolean }) {
  const metrics = new Metrics();
  const a = Fastify();
  registerErrors(a, metrics);
  registerAdmission(a, {
    limiter: new MemoryRateLimiter(new ManualClock(0)),
    perIdentity: { rate: 10, burst: 10 },
    perIp: { rate: 10, burst: 10 },
    quotas: { limitsOf: async () => TIER_LIMITS.consumer },
    load: { state: () => ({ acceptingWrites: state.acceptingWrites, acceptingReads: true, reasons: ["inflight 9 > 1"] }) },
    metrics,
    closing: () => state.closing,
  });
  a.post("/w", async () => ({ ok: true }));
  await a.ready();
  return a;
}

describe("503 refusals (SPEC §12): Retry-After and details.retry_after_ms", () => {
  it("STYX_SHUTTING_DOWN carries both", async () => {
    const a = await app({ closing: true, acceptingWrites: true });
    const r = await a.inject({ method: "POST", url: "/w" });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers["retry-after"], "1");
    assert.deepEqual([r.json().error.code, r.json().error.details], ["STYX_SHUTTING_DOWN", { retry_after_ms: 1000 }]);
    await a.close();
  });

  it("STYX_OVERLOADED carries both beside its reasons", async () => {
    const a = await app({ closing: false, acceptingWrites: false });
    const r = await a.inject({ method: "POST", url: "/w" });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers["retry-after"], "1");
    assert.deepEqual(r.json().error.details, { reasons: ["inflight 9 > 1"], retry_after_ms: 1000 });
    await a.close();
  });
});
