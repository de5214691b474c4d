import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import type { IdentityRecordIds } from "../../../src/core/identity/identity-store.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto, sha256Hex } from "../../../src/core/platform/crypto.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 8, 1));
  const store = new SqliteIdentityStore(openDatabase(":memory:"));
  const audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
  const told: IdentityRecordIds[] = [];
  const service = new IdentityService({ store, audit, clock, onIdentifiers: (r) => told.push(...r) });
  const actions = async () => (await audit.list(0, 100)).map((r) => `${r.actor} ${r.action} ${r.target}`);
  return { clock, store, audit, service, told, actions };
}

function owner(userId: string, golemId: string | null = null): Principal {
  return { kind: "user", userId, credentialId: "key_1", via: "api_key", golemId, scopes: ["read", "write"], expiresAt: null };
}

describe("IdentityService users and keys", () => {
  it("creates a user with a lowercase wallet and the default tier (STYX_DEFAULT_TIER: consumer), audited and made known", async () => {
    const { service, told, actions, clock } = await setup();
    const u = await service.createUser(
      "admin",
      { id: "usr_a", walletAddress: "0xAbC0000000000000000000000000000000000001" },
      { requestId: "r1" },
    );
    assert.deepEqual(u, {
      id: "usr_a",
      walletAddress: "0xabc0000000000000000000000000000000000001",
      reputation: 0,
      tier: "consumer",
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    assert.deepEqual(await service.getUser("usr_a"), u);
    assert.deepEqual(told, [{ kind: "user", id: "usr_a", userId: "usr_a", walletAddress: u.walletAddress }]);
    assert.deepEqual(await actions(), ["admin user.create user:usr_a"]);
    await assert.rejects(service.getUser("usr_none"), { code: "STYX_NOT_FOUND" });
  });

  it("issues a key whose secret is shown once and stored only as its SHA-256, default scopes read and write", async () => {
    const { service, store, audit } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    const { key, secret } = await service.createKey("admin", "usr_a", { name: "bot", scopes: ["read", "read"] });
    assert.match(secret, /^styx_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.keyHash, sha256Hex(secret));
    assert.deepEqual(key.scopes, ["read"], "scopes once each");
    assert.deepEqual((await store.findApiKeyByHash(sha256Hex(secret)))?.id, key.id);
    const other = await service.createKey("admin", "usr_a", { name: "default" });
    assert.deepEqual(other.key.scopes, ["read", "write"]);
    assert.notEqual(other.secret, secret);
    const logged = JSON.stringify(await audit.list(0, 100));
    assert.ok(!logged.includes(secret) && !logged.includes(other.secret), "no secret in the audit log");
  });

  it("refuses a key for an unknown user, for another user's golem, or expiring now or before", async () => {
    const { service, store, clock } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    await service.createUser("admin", { id: "usr_b" });
    const theirs = await service.registerGolem(owner("usr_b"), { id: "glm_b" });
    await assert.rejects(service.createKey("admin", "usr_none", { name: "x" }), { code: "STYX_NOT_FOUND" });
    await assert.rejects(service.createKey("admin", "usr_a", { name: "x", golemId: theirs.id }), { code: "STYX_NOT_FOUND" });
    await assert.rejects(service.createKey("admin", "usr_a", { name: "x", expiresAt: clock.now() }), { code: "STYX_VALIDATION" });
    await assert.rejects(service.createKey("admin", "usr_a", { name: "x", expiresAt: Number.NaN }), { code: "STYX_VALIDATION" });
    assert.deepEqual(await store.listApiKeys("usr_a"), []);
    const bound = await service.createKey("admin", "usr_b", { name: "g", golemId: theirs.id, expiresAt: clock.now() + 1 });
    assert.deepEqual([bound.key.golemId, bound.key.expiresAt], [theirs.id, clock.now() + 1]);
  });

  it("revokes a key once: the first revocation time stays, listeners hear each revocation", async () => {
    const { service, clock, actions } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    const { key } = await service.createKey("admin", "usr_a", { name: "bot" });
    const heard: string[] = [];
    service.onKeyRevoked((id) => heard.push(id));
    const first = await service.revokeKey("admin", key.id);
    clock.advance(5000);
    const second = await service.revokeKey("admin", key.id);
    assert.deepEqual([first.revokedAt, second.revokedAt], [clock.now() - 5000, clock.now() - 5000]);
    assert.deepEqual(heard, [key.id, key.id]);
    await assert.rejects(service.revokeKey("admin", "key_none"), { code: "STYX_NOT_FOUND" });
    assert.deepEqual(
      (await service.listKeys("admin", "usr_a")).map((k) => [k.id, k.revokedAt]),
      [[key.id, clock.now() - 5000]],
    );
    assert.equal((await actions()).filter((a) => a.startsWith("admin key.revoke")).length, 2);
  });
});

describe("IdentityService golems", () => {
  it("registers a golem in generation 0, a child one generation below its parent, audited and announced", async () => {
    const { service, told, actions } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    const registered: string[] = [];
    service.onGolemRegistered((g) => {
      registered.push(g.id);
    });
    const root = await service.registerGolem(owner("usr_a"), { id: "glm_root", archetype: "scout" });
    const child = await service.registerGolem(owner("usr_a"), { id: "glm_child", parent: root });
    const grandchild = await service.registerGolem(owner("usr_a"), { parent: child });
    assert.deepEqual(
      [root.generation, child.generation, grandchild.generation, child.parentGolemId, root.status],
      [0, 1, 2, "glm_root", "provisioning"],
    );
    assert.match(grandchild.id, /^glm_/);
    assert.deepEqual(registered, ["glm_root", "glm_child", grandchild.id]);
    assert.deepEqual(
      told.filter((t) => t.kind === "golem").map((t) => t.id),
      registered,
    );
    assert.ok((await actions()).includes("user:usr_a golem.create golem:glm_child"));
  });

  it("lets only a user register, under a parent of its own (golem credentials are refused by the route rule, Tenancy.ownerOnly)", async () => {
    const { service } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    await service.createUser("admin", { id: "usr_b" });
    const mine = await service.registerGolem(owner("usr_a"), { id: "glm_mine" });
    await service.registerGolem(owner("usr_a"), { id: "glm_sib" });
    const theirs = await service.registerGolem(owner("usr_b"), { id: "glm_theirs" });
    await assert.rejects(service.registerGolem({ kind: "admin" }, {}), { code: "STYX_AUTH_FORBIDDEN" });
    await assert.rejects(service.registerGolem(owner("usr_a"), { parent: theirs }), { code: "STYX_NOT_FOUND" });
    const child = await service.registerGolem(owner("usr_a"), { parent: mine });
    assert.equal(child.generation, 1);
    assert.equal((await service.listGolems("usr_a")).length, 3);
  });

  it("refuses another owner's wallet, and audits an id that clashes with another tenant's golem", async () => {
    const { service, actions } = await setup();
    await service.createUser("admin", { id: "usr_a" });
    await service.createUser("admin", { id: "usr_b", walletAddress: "0x00000000000000000000000000000000000000bb" });
    await assert.rejects(
      service.registerGolem(owner("usr_a"), { walletAddress: "0x00000000000000000000000000000000000000BB" }),
      { code: "STYX_CONFLICT" },
      "compared in lower case",
    );
    await service.registerGolem(owner("usr_b"), { id: "glm_taken" });
    await assert.rejects(service.registerGolem(owner("usr_a"), { id: "glm_taken" }), { code: "STYX_CONFLICT" });
    assert.ok((await actions()).includes("user:usr_a golem.conflict golem:glm_taken"));
    const own = await service.registerGolem(owner("usr_b"), { walletAddress: "0x00000000000000000000000000000000000000BB" });
    assert.equal(own.walletAddress, "0x00000000000000000000000000000000000000bb", "the owner's own wallet, lowercased");
  });
});
