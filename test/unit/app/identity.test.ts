import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ViemSignInMessages } from "../../../src/adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { buildIdentity } from "../../../src/app/identity.js";
import { memorySecrets } from "../../../src/app/secrets.js";
import type { Config } from "../../../src/config/load.js";
import { KEY_REVOKED_SIGNAL } from "../../../src/core/identity/credential-cache.js";
import { signInSite } from "../../../src/core/identity/sign-in-message.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import type { Signals } from "../../../src/core/platform/signals.js";
import { TIER_LIMITS } from "../../../src/core/quota/limits.js";
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

  it("micronode: no cache and no signal; a key revoked here is heard here", async () => {
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
