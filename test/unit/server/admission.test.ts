import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import type { RateLimiter } from "../../../src/core/platform/rate-limiter.js";
import { TIER_LIMITS, type UserLimits } from "../../../src/core/quota/limits.js";
import {
  bearerToken,
  identityBucket,
  identityBuckets,
  ipBucket,
  limitIdentity,
  rateLimited,
  requireScope,
  takeToken,
} from "../../../src/server/admission.js";

const user: Principal & { kind: "user" } = {
  kind: "user",
  userId: "usr_1",
  credentialId: "key_1",
  via: "api_key",
  golemId: null,
  expiresAt: null,
  scopes: ["read"],
};

describe("admission rules shared by HTTP and sockets", () => {
  it("reads a bearer token: absent, malformed, or the token (any case, surrounding spaces)", () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(""), undefined);
    assert.equal(bearerToken("Basic abc"), null);
    assert.equal(bearerToken("Bearer a b"), null);
    assert.equal(bearerToken("Bearer"), null);
    assert.equal(bearerToken("bearer   styx_k1  "), "styx_k1");
  });

  it("names one bucket per user (whatever the credential), one for the admin token, one per address", () => {
    assert.equal(identityBucket(user), "user:usr_1");
    assert.equal(identityBucket({ ...user, credentialId: "ses_9", via: "session" }), "user:usr_1");
    assert.equal(identityBucket({ kind: "admin" }), "admin");
    assert.equal(ipBucket("10.0.0.1"), "ip:10.0.0.1");
  });

  it("gives a golem credential its own bucket at half the user's, beside the user's", async () => {
    const limits: UserLimits = { rate: { rate: 10, burst: 20 }, quotas: TIER_LIMITS.consumer.quotas };
    const quotas = { limitsOf: async () => limits };
    const admin = { rate: 50, burst: 100 };
    assert.deepEqual(await identityBuckets(user, quotas, admin), [["user:usr_1", { rate: 10, burst: 20 }]]);
    assert.deepEqual(await identityBuckets({ ...user, golemId: "gol_1" }, quotas, admin), [
      ["user:usr_1", { rate: 10, burst: 20 }],
      ["golem-cred:key_1", { rate: 5, burst: 10 }],
    ]);
    assert.deepEqual(await identityBuckets({ kind: "admin" }, quotas, admin), [["admin", admin]]);
  });

  it("makes every credential of a user spend one budget, set by the user's limits", async () => {
    const clock = new ManualClock(0);
    let refused = 0;
    const opts = {
      limiter: new MemoryRateLimiter(clock),
      quotas: {
        limitsOf: async (id: string) => ({ rate: { rate: 1, burst: id === "usr_1" ? 3 : 5 }, quotas: TIER_LIMITS.consumer.quotas }),
      },
      adminRate: { rate: 1, burst: 1 },
      refused: () => refused++,
    };
    for (const credentialId of ["key_1", "key_2", "ses_1"]) await limitIdentity(opts, { ...user, credentialId });
    await assert.rejects(limitIdentity(opts, { ...user, credentialId: "key_3" }), { code: "STYX_RATE_LIMITED" });
    assert.equal(refused, 1);
    await limitIdentity(opts, { ...user, userId: "usr_2" });
  });

  it("refuses a missing scope with STYX_AUTH_FORBIDDEN", () => {
    assert.doesNotThrow(() => requireScope(user, "read"));
    assert.throws(
      () => requireScope(user, "write"),
      (e: unknown) => e instanceof StyxError && e.code === "STYX_AUTH_FORBIDDEN",
    );
  });

  it("refuses with one shape: Retry-After whole seconds (at least 1) and the exact wait in ms", () => {
    const e = rateLimited(1_234.2);
    assert.equal(e.code, "STYX_RATE_LIMITED");
    assert.equal(e.retryAfterSeconds, 2);
    assert.deepEqual(e.details, { retry_after_ms: 1_235 });
    assert.equal(rateLimited(3).retryAfterSeconds, 1);
  });

  it("takes a token, or counts the refusal and throws the shared shape", async () => {
    let left = 1;
    const limiter: RateLimiter = {
      take: async () => (left-- > 0 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: 480 }),
    } as unknown as RateLimiter;
    let refused = 0;
    await takeToken(limiter, "cred:key_1", { ratePerSec: 1, burst: 1 } as never, () => refused++);
    await assert.rejects(
      takeToken(limiter, "cred:key_1", { ratePerSec: 1, burst: 1 } as never, () => refused++),
      (e: unknown) =>
        e instanceof StyxError && e.retryAfterSeconds === 1 && (e.details as { retry_after_ms: number }).retry_after_ms === 480,
    );
    assert.equal(refused, 1);
  });
});
