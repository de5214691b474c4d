import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { closeDatabase, openDatabase, writtenElsewhere } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { type CachedIdentityStore, cacheIdentity, type IdentityChange } from "../../../src/core/identity/credential-cache.js";
import type { ApiKey, Golem, Session } from "../../../src/core/identity/types.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { golemFixture } from "../../../src/testing/contracts/identity-store.contract.js";

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
const session: Session = { id: "ses_1", tokenHash: "c".repeat(64), userId: "u1", golemId: "g1", createdAt: 0, expiresAt: 9e15 };
const golem: Golem = golemFixture("g1", "u1", { createdAt: 0 });

/** `store` with its calls counted by method name. */
function counting(store: SqliteIdentityStore, calls: Map<string, number>): SqliteIdentityStore {
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return Reflect.apply(v, target, args);
      };
    },
  });
}

async function seed(store: SqliteIdentityStore): Promise<void> {
  await store.createUser({ id: "u1", walletAddress: null, reputation: 0, tier: "observer", createdAt: 0, updatedAt: 0 });
  await store.createGolem(golem);
  await store.createApiKey(key);
  await store.createSession(session);
}

describe("cacheIdentity", () => {
  let store: SqliteIdentityStore;
  let clock: ManualClock;
  let calls: Map<string, number>;
  let revoked: string[];
  let changes: IdentityChange[];
  let cached: CachedIdentityStore;

  beforeEach(async () => {
    store = new SqliteIdentityStore(openDatabase(":memory:"));
    await seed(store);
    clock = new ManualClock(1000);
    calls = new Map();
    revoked = [];
    changes = [];
    cached = cacheIdentity(counting(store, calls), {
      clock,
      ttlMs: 5000,
      onRevoked: (id) => revoked.push(id),
      onChanged: (c) => changes.push(c),
    });
  });

  it("asks the store once per key within the TTL, and again after it", async () => {
    for (let i = 0; i < 5; i++) assert.equal((await cached.findApiKeyByHash(key.keyHash))?.id, key.id);
    assert.equal(calls.get("findApiKeyByHash"), 1);
    clock.advance(5001);
    await cached.findApiKeyByHash(key.keyHash);
    assert.equal(calls.get("findApiKeyByHash"), 2);
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
    cached.forgetKey(key.id);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, 3000);
  });

  it("does not remember unknown hashes, so a key created meanwhile works at once", async () => {
    const other = { ...key, id: "key_2", keyHash: "b".repeat(64) };
    assert.equal(await cached.findApiKeyByHash(other.keyHash), undefined);
    await store.createApiKey(other);
    assert.equal((await cached.findApiKeyByHash(other.keyHash))?.id, "key_2");
  });

  it("remembers a wallet session by its hash, and answers its hash as no key without asking again", async () => {
    assert.equal(await cached.findApiKeyByHash(session.tokenHash), undefined);
    assert.equal((await cached.findSessionByHash(session.tokenHash))?.id, session.id);
    for (let i = 0; i < 3; i++) {
      assert.equal(await cached.findApiKeyByHash(session.tokenHash), undefined);
      assert.equal((await cached.findSessionByHash(session.tokenHash))?.id, session.id);
    }
    assert.deepEqual([calls.get("findApiKeyByHash"), calls.get("findSessionByHash")], [1, 1]);
    await cached.findApiKeyByHash(key.keyHash);
    assert.equal(await cached.findSessionByHash(key.keyHash), undefined, "a key's hash is no session");
    assert.equal(calls.get("findSessionByHash"), 1);
  });

  it("forgets a session ended through it at once, and one ended elsewhere when told", async () => {
    await cached.findSessionByHash(session.tokenHash);
    await cached.deleteSession(session.id);
    assert.equal(await cached.findSessionByHash(session.tokenHash), undefined);
    const other = { ...session, id: "ses_2", tokenHash: "d".repeat(64) };
    await store.createSession(other);
    await cached.findSessionByHash(other.tokenHash);
    await store.deleteSession(other.id);
    assert.equal((await cached.findSessionByHash(other.tokenHash))?.id, "ses_2", "within the TTL the cached session stands");
    cached.forgetSession(other.id);
    assert.equal(await cached.findSessionByHash(other.tokenHash), undefined);
  });

  it("remembers golems, and keeps a golem made alive through it alive without asking again", async () => {
    assert.equal((await cached.getGolem("g1"))?.status, "provisioning");
    await cached.markGolemAlive("g1");
    assert.equal((await cached.getGolem("g1"))?.status, "alive");
    assert.equal(calls.get("getGolem"), 1);
    assert.equal(await cached.getGolem("nope"), undefined);
    assert.equal(await cached.getGolem("nope"), undefined);
    assert.equal(calls.get("getGolem"), 3, "unknown ids are asked each time");
  });

  it("forgets a golem that changed here through another store (a death) and reports it; one changed elsewhere without reporting", async () => {
    await cached.getGolem("g1");
    // A write past the cache, as the death store's.
    await store.markGolemAlive("g1");
    assert.equal((await cached.getGolem("g1"))?.status, "provisioning", "unseen until told");
    cached.changed({ golemId: "g1" });
    assert.equal((await cached.getGolem("g1"))?.status, "alive");
    assert.deepEqual(changes, [{ golemId: "g1" }]);
    cached.forget({ golemId: "g1" });
    await cached.getGolem("g1");
    assert.equal(calls.get("getGolem"), 3);
    assert.equal(changes.length, 1, "forget reports nothing");
  });

  it("remembers users; a tier set through it is forgotten at once and reported", async () => {
    await cached.getUser("u1");
    await cached.getUser("u1");
    assert.equal(calls.get("getUser"), 1);
    assert.equal(await cached.setUserTier("u1", "steward", 2000), true);
    assert.equal((await cached.getUser("u1"))?.tier, "steward");
    assert.deepEqual(changes, [{ userId: "u1" }]);
  });

  it("holds at most maxEntries records of a kind, the oldest going first", async () => {
    const small = cacheIdentity(counting(store, calls), { clock, maxEntries: 2 });
    await store.createGolem({ ...golem, id: "g2" });
    await store.createGolem({ ...golem, id: "g3" });
    for (const id of ["g1", "g2", "g3"]) await small.getGolem(id);
    calls.clear();
    await small.getGolem("g3");
    await small.getGolem("g2");
    assert.equal(calls.get("getGolem"), undefined);
    await small.getGolem("g1");
    assert.equal(calls.get("getGolem"), 1, "g1 was dropped");
  });

  it("passes every other method through to the store", async () => {
    assert.equal((await cached.listApiKeys("u1")).length, 1);
    assert.equal((await cached.listGolems("u1")).length, 1);
  });
});

describe("cacheIdentity over a micronode's data dir: another process writing to the database", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "styx-idcache-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("sees another connection's commit (styx keys revoke) at its next millisecond, not its own commits nor checkpoints", async () => {
    const file = join(dir, "styx.db");
    const serverDb = openDatabase(file);
    const server = new SqliteIdentityStore(serverDb);
    await seed(server);
    const clock = new ManualClock(1000);
    const probe = writtenElsewhere(serverDb);
    let asked = 0;
    const cached = cacheIdentity(server, {
      clock,
      changedElsewhere: () => {
        asked++;
        return probe();
      },
    });
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, null);
    await cached.getGolem("g1");
    await cached.markGolemAlive("g1");
    clock.advance(1);
    assert.equal((await cached.getGolem("g1"))?.status, "alive", "this connection's own write changes nothing");
    const cliDb = openDatabase(file, { backgroundCheckpoint: false });
    cliDb.pragma("wal_checkpoint(PASSIVE)");
    clock.advance(1);
    assert.equal((await cached.getGolem("g1"))?.status, "alive", "a checkpoint (the checkpoint thread's connection) changes nothing");
    await new SqliteIdentityStore(cliDb).revokeApiKey(key.id, 1500);
    await closeDatabase(cliDb);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, null, "within the same millisecond: not asked again");
    clock.advance(1);
    assert.equal((await cached.findApiKeyByHash(key.keyHash))?.revokedAt, 1500, "the next millisecond sees the revocation");
    assert.equal(asked, 4, "asked once per millisecond");
    await closeDatabase(serverDb);
  });
});
