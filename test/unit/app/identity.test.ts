import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ViemSignInMessages } from "../../../src/adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteErasureStore } from "../../../src/adapters/sqlite/sqlite-erasure-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { buildIdentity, forgettingErasures } from "../../../src/app/identity.js";
import { memorySecrets } from "../../../src/app/secrets.js";
import { closeEndedSessions } from "../../../src/app/signing.js";
import type { Config } from "../../../src/config/load.js";
import { IDENTITY_CHANGED_SIGNAL, KEY_REVOKED_SIGNAL } from "../../../src/core/identity/credential-cache.js";
import { signInSite } from "../../../src/core/identity/sign-in-message.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto, sha256Hex } from "../../../src/core/platform/crypto.js";
import type { Signals } from "../../../src/core/platform/signals.js";
import { TIER_LIMITS } from "../../../src/core/quota/limits.js";
import { golemFixture } from "../../../src/testing/contracts/identity-store.contract.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";
import { signalChannel } from "./signals.js";

const config = { sessionTtlMs: 3_600_000, quotas: { defaultTier: "consumer", table: TIER_LIMITS } } as Config;

async function gateway(db: ReturnType<typeof openDatabase>, signals: Signals | undefined) {
  const clock = new ManualClock(1_700_000_000_000);
  const storage = {
    identity: new SqliteIdentityStore(db),
    audit: new MemoryAuditLog(clock, TEST_SECRET_KEY),
    secrets: memorySecrets(),
    cluster: signals ? { signals, openFabric: () => Promise.reject(new Error("unused")) } : undefined,
  };
  const signing = {
    site: signInSite("https://styx.example.com", 8453),
    messages: new ViemSignInMessages(),
    verifier: new ViemSignatureVerifier(),
  };
  return buildIdentity({ config, clock, storage, adminToken: "admin-token-of-the-test", signing, onIdentifiers: () => {} });
}

describe("buildIdentity", () => {
  before(initCrypto);

  it("macronode: a key revoked on one gateway is forgotten by another's cache and its listeners hear of it", async () => {
    const db = openDatabase(":memory:");
    const channel = signalChannel();
    const a = await gateway(db, channel.gateway("a"));
    const b = await gateway(db, channel.gateway("b"));
    await a.service.createUser("test", { id: "u1" });
    const { key, secret } = await a.service.createKey("test", "u1", { name: "k" });
    assert.ok(await b.auth.authenticate(secret).catch(() => undefined), "b knows the key (and caches it)");
    const heard: string[] = [];
    b.onKeyRevoked((id) => heard.push(id));
    await a.service.revokeKey("test", key.id);
    assert.deepEqual(heard, [key.id]);
    await assert.rejects(b.auth.authenticate(secret), "b's cache forgot the key at once");
  });

  it("macronode: a session ended on one gateway, and a golem or user changed there, are forgotten by another's cache", async () => {
    const db = openDatabase(":memory:");
    const channel = signalChannel();
    const [sa, sb] = [channel.gateway("a"), channel.gateway("b")];
    const a = await gateway(db, sa);
    const b = await gateway(db, sb);
    closeEndedSessions({ auth: a.auth, signals: sa, close: () => {} });
    await a.service.createUser("test", { id: "u1" });
    const store = new SqliteIdentityStore(db);
    await store.createGolem(golemFixture("g1", "u1", { createdAt: 0 }));
    await store.createSession({
      id: "ses_1",
      tokenHash: sha256Hex("session-token"),
      userId: "u1",
      golemId: "g1",
      createdAt: 0,
      expiresAt: 9e15,
    });
    assert.equal((await b.auth.authenticate("session-token")).kind, "user", "b caches the session");
    assert.equal((await b.store.getGolem("g1"))?.status, "provisioning", "and the golem");
    assert.equal((await b.store.getUser("u1"))?.tier, "consumer", "and the user");

    await a.auth.endSessionAs("test", "ses_1");
    await assert.rejects(b.auth.authenticate("session-token"), "b forgot the session at once");

    await store.markGolemAlive("g1");
    await store.setUserTier("u1", "steward", 1);
    assert.equal((await b.store.getGolem("g1"))?.status, "provisioning", "a change past every cache is unseen within the TTL");
    a.store.changed({ golemId: "g1" });
    a.store.changed({ userId: "u1" });
    assert.deepEqual(
      sa.sent.filter(([t]) => t === IDENTITY_CHANGED_SIGNAL).map(([, p]) => p),
      [{ golem_id: "g1" }, { user_id: "u1" }],
    );
    assert.equal((await b.store.getGolem("g1"))?.status, "alive", "b forgot the golem");
    assert.equal((await b.store.getUser("u1"))?.tier, "steward", "b forgot the user");
  });

  it("forgets an erased golem and user at once here and tells the other gateways (forgettingErasures)", async () => {
    const db = openDatabase(":memory:");
    const channel = signalChannel();
    const sa = channel.gateway("a");
    const a = await gateway(db, sa);
    const b = await gateway(db, channel.gateway("b"));
    await a.service.createUser("test", { id: "u1" });
    await new SqliteIdentityStore(db).createGolem(golemFixture("g1", "u1", { createdAt: 0 }));
    for (const g of [a, b]) assert.ok(await g.store.getGolem("g1"));
    const erasure = forgettingErasures(new SqliteErasureStore(db), a.store);
    await erasure.eraseGolemRecords("g1", "source-hash", undefined);
    assert.equal(await a.store.getGolem("g1"), undefined, "here at once");
    assert.equal(await b.store.getGolem("g1"), undefined, "there by signal");
    for (const g of [a, b]) assert.ok(await g.store.getUser("u1"));
    await erasure.eraseUserRecords("u1", "erased-x", 1);
    assert.equal(await a.store.getUser("u1"), undefined);
    assert.equal(await b.store.getUser("u1"), undefined);
  });

  it("micronode: no signal; a key revoked here is heard here", async () => {
    const a = await gateway(openDatabase(":memory:"), undefined);
    await a.service.createUser("test", { id: "u1" });
    const { key } = await a.service.createKey("test", "u1", { name: "k" });
    const heard: string[] = [];
    a.onKeyRevoked((id) => heard.push(id));
    await a.service.revokeKey("test", key.id);
    assert.deepEqual(heard, [key.id]);
  });

  it("ignores a revocation signal without a key id", async () => {
    const channel = signalChannel();
    const a = await gateway(openDatabase(":memory:"), channel.gateway("a"));
    const heard: string[] = [];
    a.onKeyRevoked((id) => heard.push(id));
    channel.gateway("x").publish(KEY_REVOKED_SIGNAL, { key_id: 7 });
    assert.deepEqual(heard, []);
  });
});
