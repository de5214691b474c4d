import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemorySocketCounts } from "../../../src/adapters/memory/memory-socket-counts.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { applyOverride, TIER_LIMITS } from "../../../src/core/quota/limits.js";
import { socketClaims } from "../../../src/core/quota/socket-counts.js";
import { SocketQuota } from "../../../src/server/ws/socket-quota.js";

const user = (userId: string, credentialId: string): Principal => ({
  kind: "user",
  userId,
  credentialId,
  via: "api_key",
  golemId: null,
  expiresAt: null,
  scopes: ["read", "write"],
});

describe("socketClaims", () => {
  it("counts a user's socket under its user, its key and its address, with the tier's caps", () => {
    assert.deepEqual(socketClaims("10.0.0.1", user("u1", "key_1"), TIER_LIMITS.observer), [
      { quota: "sockets_per_user", key: "user:u1", limit: 10 },
      { quota: "sockets_per_key", key: "key:key_1", limit: 5 },
      { quota: "sockets_per_ip", key: "ip:10.0.0.1", limit: 50 },
    ]);
  });

  it("counts a socket without a user (none yet, or the admin token) by its address only", () => {
    for (const p of [undefined, { kind: "admin" } as const])
      assert.deepEqual(socketClaims("::1", p, TIER_LIMITS.consumer), [{ quota: "sockets_per_ip", key: "ip:::1", limit: 200 }]);
  });
});

describe("SocketQuota", () => {
  const small = applyOverride(TIER_LIMITS.consumer, { quotas: { sockets_per_user: 5, sockets_per_key: 5, sockets_per_ip: 2 } });
  const big = applyOverride(TIER_LIMITS.consumer, { quotas: { sockets_per_ip: 3 } });
  const quota = () =>
    new SocketQuota({
      counts: new MemorySocketCounts(new ManualClock()),
      policy: { limitsOf: async () => big },
      defaults: small,
      ttlMs: 60_000,
    });

  it("refuses with STYX_QUOTA_EXCEEDED naming the quota, its limit and the count", async () => {
    const q = quota();
    await q.claim("s1", "a", undefined);
    await q.claim("s2", "a", undefined);
    const err = await q.claim("s3", "a", undefined).catch((e: unknown) => e);
    assert.ok(err instanceof StyxError);
    assert.equal(err.code, "STYX_QUOTA_EXCEEDED");
    assert.deepEqual(err.details, { quota: "sockets_per_ip", limit: 2, used: 2 });
  });

  it("applies the user's tier to the address once the user is known", async () => {
    const q = quota();
    await q.claim("s1", "a", undefined);
    await q.claim("s2", "a", undefined);
    await q.claim("s3", "a", user("u", "k"));
    assert.equal(q.size, 3);
  });

  it("releases every key a socket was counted under, once", async () => {
    const q = quota();
    await q.claim("s1", "a", undefined);
    await q.claim("s1", "a", user("u", "k"));
    await q.release("s1");
    await q.release("s1");
    assert.equal(q.size, 0);
    await q.claim("s2", "a", undefined);
    await q.claim("s3", "a", undefined);
  });
});
