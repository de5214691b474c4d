import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { cacheCredentials } from "../../../src/core/identity/credential-cache.js";
import type { ApiKey } from "../../../src/core/identity/types.js";
import { ManualClock } from "../../../src/core/platform/clock.js";

const key: ApiKey = {
  id: "key_1",
  userId: "u1",
  golemId: null,
  name: "k",
  keyHash: "a".repeat(64),
  scopes: ["read", "write"],
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
};

describe("cacheCredentials", () => {
  let store: SqliteIdentityStore;
  let clock: ManualClock;
  let lookups: number;
  let revoked: string[];
  let cached: ReturnType<typeof cacheCredentials>;

  beforeEach(async () => {
    store = new SqliteIdentityStore(openDatabase(":memory:"));
    await store.createUser({ id: "u1", walletAddress: null, reputation: 0, tier: "observer", createdAt: 0, updatedAt: 0 });
    await store.createApiKey(key);
    clock = new ManualClock(1000);
    lookups = 0;
    revoked = [];
    const counting = new Proxy(store, {
      get(target, prop) {
        if (prop === "findApiKeyByHash") lookups++;
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    cached = cacheCredentials(counting, { clock, ttlMs: 5000, onRevoked: (id) => revoked.push(id) });
  });

  it("asks the store once per key within the TTL, and again after it", async () => {
    for (let i = 0; i < 5; i++) assert.equal((await cached.findApiKeyByHash(key.keyHash))?.id, key.id);
    assert.equal(lookups, 1);
    clock.advance(5001);
    await cached.findApiKeyByHash(key.keyHash);
    assert.equal(lookups, 2);
  });

  it("forgets a key revoked through it at once, and reports the revocation", async () => {
    await cached.findApiKeyByHash(key.keyHash);
    await cached.revokeApiKey(key.id, 2000);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, 2000);
    assert.deepEqual(revoked, [key.id]);
  });

  it("forgets a key revoked elsewhere when told", async () => {
    await cached.findApiKeyByHash(key.keyHash);
    await store.revokeApiKey(key.id, 3000);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, null, "within the TTL the cached key stands");
    cached.forget(key.id);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, 3000);
  });

  it("does not remember unknown hashes, so a key created meanwhile works at once", async () => {
    const other = { ...key, id: "key_2", keyHash: "b".repeat(64) };
    assert.equal(await cached.findApiKeyByHash(other.keyHash), undefined);
    await store.createApiKey(other);
    assert.equal((await cached.findApiKeyByHash(other.keyHash))?.id, "key_2");
  });

  it("passes every other method through to the store", async () => {
    assert.equal((await cached.getUser("u1"))?.id, "u1");
    assert.equal((await cached.listApiKeys("u1")).length, 1);
  });
});
