import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { ApiKey, Golem, User } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";

const T = Date.UTC(2026, 0, 1);

/** A user fixture. */
export function userFixture(id: string, wallet: string | null = null): User {
  return { id, walletAddress: wallet, reputation: 0, tier: "observer", createdAt: T, updatedAt: T };
}

/** A golem fixture. */
export function golemFixture(id: string, userId: string, extra: Partial<Golem> = {}): Golem {
  return {
    id,
    userId,
    generation: 0,
    parentGolemId: null,
    status: "provisioning",
    archetype: null,
    walletAddress: null,
    createdAt: T,
    diedAt: null,
    deathCause: null,
    ticksLived: 0,
    ...extra,
  };
}

function keyFixture(id: string, userId: string, hash: string): ApiKey {
  return { id, userId, golemId: null, name: id, keyHash: hash, scopes: ["read", "write"], createdAt: T, expiresAt: null, revokedAt: null };
}

function isConflict(err: unknown): boolean {
  return err instanceof StyxError && err.code === "STYX_CONFLICT";
}

/** The behaviour every IdentityStore adapter must show. */
export function describeIdentityStoreContract(name: string, make: () => Promise<IdentityStore> | IdentityStore): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let store: IdentityStore;
    beforeEach(async () => {
      store = await make();
    });

    it("stores and returns a user, and finds it by wallet", async () => {
      await store.createUser(userFixture("u1", "0xabc"));
      assert.deepEqual(await store.getUser("u1"), userFixture("u1", "0xabc"));
      assert.equal((await store.findUserByWallet("0xabc"))?.id, "u1");
      assert.equal(await store.getUser("nope"), undefined);
    });

    it("changes a user's tier, and says whether the user exists", async () => {
      await store.createUser(userFixture("u1", "0xabc"));
      assert.equal(await store.setUserTier("u1", "steward", T + 5), true);
      assert.deepEqual(await store.getUser("u1"), { ...userFixture("u1", "0xabc"), tier: "steward", updatedAt: T + 5 });
      assert.equal(await store.setUserTier("nope", "steward", T + 5), false);
      assert.equal(await store.getUser("nope"), undefined);
    });

    it("rejects a duplicate user id or wallet with STYX_CONFLICT and keeps the first", async () => {
      await store.createUser(userFixture("u1", "0xabc"));
      await assert.rejects(store.createUser(userFixture("u1")), isConflict);
      await assert.rejects(store.createUser(userFixture("u2", "0xabc")), isConflict);
      assert.equal(await store.getUser("u2"), undefined);
      assert.equal((await store.getUser("u1"))?.walletAddress, "0xabc");
    });

    it("stores golems, lists them per user oldest first, and rejects duplicates", async () => {
      await store.createUser(userFixture("u1"));
      await store.createUser(userFixture("u2"));
      await store.createGolem(golemFixture("g1", "u1"));
      await store.createGolem(golemFixture("g2", "u1", { parentGolemId: "g1", generation: 1, createdAt: T + 1, walletAddress: "0xdef" }));
      await store.createGolem(golemFixture("g3", "u2"));
      assert.deepEqual(
        (await store.listGolems("u1")).map((g) => g.id),
        ["g1", "g2"],
      );
      assert.equal((await store.getGolem("g2"))?.generation, 1);
      assert.equal((await store.findGolemByWallet("0xdef"))?.id, "g2");
      await assert.rejects(store.createGolem(golemFixture("g1", "u2")), isConflict);
    });

    it("finds keys by hash, lists them, and revokes once (first time wins)", async () => {
      await store.createUser(userFixture("u1"));
      await store.createApiKey(keyFixture("k1", "u1", "h1"));
      await store.createApiKey(keyFixture("k2", "u1", "h2"));
      assert.equal((await store.findApiKeyByHash("h2"))?.id, "k2");
      assert.equal(await store.findApiKeyByHash("h3"), undefined);
      assert.deepEqual(
        (await store.listApiKeys("u1")).map((k) => k.id),
        ["k1", "k2"],
      );
      assert.equal((await store.revokeApiKey("k1", T + 5))?.revokedAt, T + 5);
      assert.equal((await store.revokeApiKey("k1", T + 9))?.revokedAt, T + 5);
      assert.equal(await store.revokeApiKey("nope", T), undefined);
      await assert.rejects(store.createApiKey(keyFixture("k3", "u1", "h1")), isConflict);
    });

    it("lists the usable keys of every user newest first, leaving out revoked and expired ones", async () => {
      await store.createUser(userFixture("u1"));
      await store.createUser(userFixture("u2"));
      await store.createApiKey(keyFixture("k1", "u1", "h1"));
      await store.createApiKey({ ...keyFixture("k2", "u2", "h2"), createdAt: T + 1 });
      await store.createApiKey({ ...keyFixture("k3", "u1", "h3"), createdAt: T + 2, expiresAt: T + 10 });
      await store.createApiKey({ ...keyFixture("k4", "u2", "h4"), createdAt: T + 3 });
      await store.revokeApiKey("k4", T + 4);
      assert.deepEqual(
        (await store.listActiveApiKeys(T + 5, 10)).map((k) => k.id),
        ["k3", "k2", "k1"],
      );
      assert.deepEqual(
        (await store.listActiveApiKeys(T + 10, 10)).map((k) => k.id),
        ["k2", "k1"],
        "a key is expired from its expires_at on",
      );
      assert.deepEqual(
        (await store.listActiveApiKeys(T + 5, 1)).map((k) => k.id),
        ["k3"],
      );
    });

    it("names the keys no longer usable among many: revoked, expired or unknown", async () => {
      await store.createUser(userFixture("u1"));
      await store.createApiKey(keyFixture("k1", "u1", "h1"));
      await store.createApiKey({ ...keyFixture("k2", "u1", "h2"), expiresAt: T + 10 });
      await store.createApiKey(keyFixture("k3", "u1", "h3"));
      await store.revokeApiKey("k3", T + 1);
      assert.deepEqual(await store.unusableApiKeys(["k1", "k2", "k3", "gone"], T + 5), ["k3", "gone"]);
      assert.deepEqual(await store.unusableApiKeys(["k1", "k2"], T + 10), ["k2"], "expired from its expires_at on");
      assert.deepEqual(await store.unusableApiKeys([], T), []);
    });

    it("spends a nonce once", async () => {
      assert.equal(await store.spendNonce("n1", T + 100), true);
      assert.equal(await store.spendNonce("n1", T + 100), false);
      assert.equal(await store.spendNonce("n2", T + 100), true);
    });

    it("finds sessions by hash and purges expired nonces and sessions", async () => {
      await store.createUser(userFixture("u1"));
      await store.createSession({ id: "s1", tokenHash: "th1", userId: "u1", golemId: null, createdAt: T, expiresAt: T + 10 });
      await store.spendNonce("n1", T + 10);
      assert.equal((await store.findSessionByHash("th1"))?.userId, "u1");
      assert.equal(await store.purgeExpiredAuth(T + 5), 0);
      assert.equal(await store.purgeExpiredAuth(T + 10), 2);
      assert.equal(await store.findSessionByHash("th1"), undefined);
    });

    it("gets, lists a user's live sessions oldest first, and deletes one, returning it once", async () => {
      await store.createUser(userFixture("u1"));
      await store.createUser(userFixture("u2"));
      await store.createGolem(golemFixture("g1", "u1"));
      const s1 = { id: "s1", tokenHash: "th1", userId: "u1", golemId: null, createdAt: T, expiresAt: T + 100 };
      const s2 = { id: "s2", tokenHash: "th2", userId: "u1", golemId: "g1", createdAt: T + 1, expiresAt: T + 50 };
      const s3 = { id: "s3", tokenHash: "th3", userId: "u2", golemId: null, createdAt: T, expiresAt: T + 100 };
      for (const s of [s2, s1, s3]) await store.createSession(s);
      assert.deepEqual(await store.getSession("s2"), s2);
      assert.equal(await store.getSession("nope"), undefined);
      assert.deepEqual(await store.listSessions("u1", T), [s1, s2]);
      assert.deepEqual(await store.listSessions("u1", T + 50), [s1], "expired at its expires_at");
      assert.deepEqual(await store.listSessions("nobody", T), []);
      assert.deepEqual(await store.deleteSession("s1"), s1);
      assert.equal(await store.deleteSession("s1"), undefined);
      assert.equal(await store.findSessionByHash("th1"), undefined);
      assert.deepEqual(await store.listSessions("u1", T), [s2]);
      assert.deepEqual(await store.listSessions("u2", T), [s3], "another user's sessions are untouched");
    });

    it("lists every identifier created since a time: user, golem, key and session ids, wallets, with their user", async () => {
      await store.createUser(userFixture("u1", "0xaaa"));
      await store.createUser({ ...userFixture("u2"), createdAt: T + 50 });
      await store.createGolem(golemFixture("g1", "u1", { walletAddress: "0xbbb" }));
      await store.createGolem(golemFixture("g2", "u2", { createdAt: T + 60 }));
      await store.createApiKey(keyFixture("k1", "u1", "h1"));
      await store.createSession({ id: "s1", tokenHash: "th1", userId: "u2", golemId: null, createdAt: T + 70, expiresAt: T + 1000 });
      const key = (r: { kind: string; id: string; userId: string; walletAddress: string | null }) =>
        `${r.kind}:${r.id}:${r.userId}:${r.walletAddress ?? ""}`;
      assert.deepEqual((await store.listIdentifiers(0)).map(key).sort(), [
        "golem:g1:u1:0xbbb",
        "golem:g2:u2:",
        "key:k1:u1:",
        "session:s1:u2:",
        "user:u1:u1:0xaaa",
        "user:u2:u2:",
      ]);
      assert.deepEqual((await store.listIdentifiers(T + 50)).map(key).sort(), ["golem:g2:u2:", "session:s1:u2:", "user:u2:u2:"]);
    });
  });
}
