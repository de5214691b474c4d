import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ViemSignInMessages } from "../../../src/adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { AuthService } from "../../../src/core/identity/auth-service.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { signInSite } from "../../../src/core/identity/sign-in-message.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const MINUTE = 60_000;
const ADMIN = "admin-token-for-tests-0123456789";
const owner: Principal = {
  kind: "user",
  userId: "usr_a",
  credentialId: "k",
  via: "api_key",
  golemId: null,
  scopes: ["write"],
  expiresAt: null,
};

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 9, 1));
  const store = new SqliteIdentityStore(openDatabase(":memory:"));
  const audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
  const identity = new IdentityService({ store, audit, clock });
  const auth = new AuthService({
    store,
    audit,
    clock,
    verifier: new ViemSignatureVerifier(),
    messages: new ViemSignInMessages(),
    options: {
      adminToken: ADMIN,
      challengeTtlMs: 5 * MINUTE,
      challengeKey: "challenge-key-0123456789",
      site: signInSite("https://styx.example.com", 8453),
      sessionTtlMs: 60 * MINUTE,
    },
  });
  await identity.createUser("admin", { id: "usr_a" });
  return { clock, store, audit, identity, auth };
}

/** A wallet, and its signed answer (the EIP-4361 message issued for it, and the signature) to a fresh challenge. */
async function signedChallenge(auth: AuthService, wallet = privateKeyToAccount(generatePrivateKey())) {
  const c = await auth.createChallenge(wallet.address);
  const signature = await wallet.signMessage({ message: c.message });
  return { wallet, signature, challenge: c, answer: { message: c.message, signature } };
}

const code = (c: string) => ({ code: c });

describe("AuthService.authenticate", () => {
  it("resolves the admin token, an API key and nothing else", async () => {
    const { auth, identity } = await setup();
    await assert.rejects(auth.authenticate(undefined), code("STYX_AUTH_REQUIRED"));
    assert.deepEqual(await auth.authenticate(ADMIN), { kind: "admin" });
    const { key, secret } = await identity.createKey("admin", "usr_a", { name: "bot", scopes: ["read"] });
    assert.deepEqual(await auth.authenticate(secret), {
      kind: "user",
      userId: "usr_a",
      credentialId: key.id,
      via: "api_key",
      golemId: null,
      scopes: ["read"],
      expiresAt: null,
    });
    await assert.rejects(auth.authenticate(`${secret}x`), code("STYX_AUTH_INVALID_KEY"));
    await assert.rejects(auth.authenticate(`${ADMIN} `), code("STYX_AUTH_INVALID_KEY"));
  });

  it("refuses a key from its expiry on, and a revoked key at once, with the same answer as an unknown one", async () => {
    const { auth, identity, clock } = await setup();
    const expiring = await identity.createKey("admin", "usr_a", { name: "short", expiresAt: clock.now() + MINUTE });
    const revoked = await identity.createKey("admin", "usr_a", { name: "gone" });
    clock.advance(MINUTE - 1);
    assert.equal((await auth.authenticate(expiring.secret)).kind, "user");
    clock.advance(1);
    await assert.rejects(auth.authenticate(expiring.secret), code("STYX_AUTH_INVALID_KEY"));
    await identity.revokeKey("admin", revoked.key.id);
    await assert.rejects(auth.authenticate(revoked.secret), code("STYX_AUTH_INVALID_KEY"));
  });
});

describe("AuthService wallet sign-in", () => {
  it("signs a golem's wallet in to a session for that golem, which expires after its TTL", async () => {
    const { auth, identity, clock, audit } = await setup();
    const proof = await signedChallenge(auth);
    const golem = await identity.registerGolem(owner, { id: "glm_w", walletAddress: proof.wallet.address });
    const session = await auth.verifyChallenge(proof.answer);
    assert.deepEqual([session.userId, session.golemId, session.expiresAt], ["usr_a", golem.id, clock.now() + 60 * MINUTE]);
    assert.match(session.token, /^styx_/);
    const p = await auth.authenticate(session.token);
    assert.deepEqual(p.kind === "user" && [p.via, p.golemId, p.userId], ["session", "glm_w", "usr_a"]);
    assert.equal((await audit.latest("auth.session"))?.actor, "user:usr_a");
    clock.advance(60 * MINUTE);
    await assert.rejects(auth.authenticate(session.token), code("STYX_AUTH_INVALID_KEY"));
  });

  it("spends a nonce once: the replay of a used answer is refused", async () => {
    const { auth, identity } = await setup();
    const proof = await signedChallenge(auth);
    await identity.registerGolem(owner, { walletAddress: proof.wallet.address });
    await auth.verifyChallenge(proof.answer);
    await assert.rejects(auth.verifyChallenge(proof.answer), code("STYX_AUTH_INVALID_CHALLENGE"));
    await assert.rejects(auth.proveWallet(proof.answer, proof.wallet.address), code("STYX_AUTH_INVALID_CHALLENGE"));
  });

  it("refuses a challenge answered after its TTL, or presented for another wallet", async () => {
    const { auth, identity, clock } = await setup();
    const proof = await signedChallenge(auth);
    const other = privateKeyToAccount(generatePrivateKey());
    await identity.registerGolem(owner, { walletAddress: proof.wallet.address });
    await identity.registerGolem(owner, { walletAddress: other.address });
    // The message names its wallet: another wallet's signature over it does not sign that wallet in.
    const forOther = { message: proof.challenge.message, signature: await other.signMessage({ message: proof.challenge.message }) };
    await assert.rejects(auth.verifyChallenge(forOther), code("STYX_AUTH_INVALID_SIGNATURE"), "the message is bound to its wallet");
    clock.advance(5 * MINUTE);
    await assert.rejects(auth.verifyChallenge(proof.answer), code("STYX_AUTH_INVALID_CHALLENGE"));
  });

  it("refuses a signature by another key without spending the nonce, so the wallet's own answer still works", async () => {
    const { auth, identity } = await setup();
    const proof = await signedChallenge(auth);
    await identity.registerGolem(owner, { walletAddress: proof.wallet.address });
    const forged = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: proof.challenge.message });
    await assert.rejects(
      auth.verifyChallenge({ message: proof.challenge.message, signature: forged }),
      code("STYX_AUTH_INVALID_SIGNATURE"),
    );
    const s = await auth.verifyChallenge(proof.answer);
    assert.equal(s.userId, "usr_a");
  });

  it("refuses a wallet nobody registered, and signs in an owner's own wallet with no golem", async () => {
    const { auth, identity } = await setup();
    const stranger = await signedChallenge(auth);
    await assert.rejects(auth.verifyChallenge(stranger.answer), code("STYX_AUTH_UNKNOWN_WALLET"));
    const proof = await signedChallenge(auth);
    await identity.createUser("admin", { id: "usr_w", walletAddress: proof.wallet.address });
    const s = await auth.verifyChallenge(proof.answer);
    assert.deepEqual([s.userId, s.golemId], ["usr_w", null]);
  });

  it("proves control of a wallet, spending its nonce, and only for the wallet the message names", async () => {
    const { auth } = await setup();
    const proof = await signedChallenge(auth);
    const other = privateKeyToAccount(generatePrivateKey());
    await assert.rejects(auth.proveWallet(proof.answer, other.address));
    await auth.proveWallet(proof.answer, proof.wallet.address);
    await assert.rejects(auth.proveWallet(proof.answer, proof.wallet.address), code("STYX_AUTH_INVALID_CHALLENGE"));
  });

  it("forgets used nonces past their expiry when challenges are made, at most once a minute", async () => {
    const { auth, store, clock } = await setup();
    await auth.createChallenge("0x0000000000000000000000000000000000000001");
    await store.spendNonce("used", clock.now() + 10);
    clock.advance(MINUTE - 1);
    await auth.createChallenge("0x0000000000000000000000000000000000000001");
    assert.equal(await store.spendNonce("used", clock.now() + 10), false, "no sweep within a minute of the last");
    clock.advance(1);
    await auth.createChallenge("0x0000000000000000000000000000000000000001");
    assert.equal(await store.spendNonce("used", clock.now() + 10), true, "swept: the expired record is gone");
  });
});
