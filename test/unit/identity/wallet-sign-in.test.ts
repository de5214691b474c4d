import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ViemSignInMessages } from "../../../src/adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { AuthService } from "../../../src/core/identity/auth-service.js";
import { type SignInSite, signInSite } from "../../../src/core/identity/sign-in-message.js";
import { WalletSignIn } from "../../../src/core/identity/wallet-sign-in.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";
import { highS, withV } from "../../../src/testing/signatures.js";

const TTL = 5 * 60_000;
const KEY = "challenge-key-0123456789abcdef";
const wallet = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const here = signInSite("https://styx.example.com", 8453);

function signInAt(clock: ManualClock, site: SignInSite = here): WalletSignIn {
  return new WalletSignIn({
    messages: new ViemSignInMessages(),
    verifier: new ViemSignatureVerifier(),
    clock,
    options: { site, challengeTtlMs: TTL, challengeKey: KEY },
  });
}

/** Asserts `p` rejects with `code`, and (when given) names the EIP-4361 field at fault. */
async function refused(p: Promise<unknown>, code: string, field?: string): Promise<StyxError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StyxError, String(err));
    assert.equal(err.code, code, err.message);
    if (field) assert.deepEqual(err.details, [{ path: "/message", field }], err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

before(() => initCrypto());

describe("WalletSignIn (EIP-4361)", () => {
  let clock: ManualClock;
  let signIn: WalletSignIn;
  beforeEach(() => {
    clock = new ManualClock();
    signIn = signInAt(clock);
  });

  it("accepts the message it issued, signed by the wallet, and names this site, chain and lifetime", async () => {
    const c = await signIn.challenge(wallet.address);
    assert.match(c.message, /^styx\.example\.com wants you to sign in with your Ethereum account:\n/);
    assert.ok(c.message.includes(`\n${wallet.address}\n`), "the address in EIP-55 case");
    for (const line of ["URI: https://styx.example.com", "Version: 1", "Chain ID: 8453", `Nonce: ${c.nonce}`]) {
      assert.ok(c.message.includes(`\n${line}\n`), line);
    }
    assert.ok(c.message.includes(`Issued At: ${new Date(clock.now()).toISOString()}`));
    assert.ok(c.message.endsWith(`Expiration Time: ${new Date(clock.now() + TTL).toISOString()}`));
    const ok = await signIn.check({ message: c.message, signature: await wallet.signMessage({ message: c.message }) });
    assert.deepEqual(ok, { address: wallet.address.toLowerCase(), nonce: c.nonce, expiresAt: clock.now() + TTL });
  });

  it("refuses a message for another domain, even with a nonce made under the same key", async () => {
    const c = await signInAt(clock, signInSite("https://evil.example.com", 8453)).challenge(wallet.address);
    await refused(
      signIn.check({ message: c.message, signature: await wallet.signMessage({ message: c.message }) }),
      "STYX_AUTH_INVALID_CHALLENGE",
      "domain",
    );
  });

  it("refuses a message whose URI is not this server's", async () => {
    const c = await signIn.challenge(wallet.address);
    const message = c.message.replace("URI: https://styx.example.com", "URI: https://styx.example.com/elsewhere");
    await refused(signIn.check({ message, signature: await wallet.signMessage({ message }) }), "STYX_AUTH_INVALID_CHALLENGE", "uri");
  });

  it("refuses a message for another chain id", async () => {
    const c = await signInAt(clock, signInSite("https://styx.example.com", 1)).challenge(wallet.address);
    await refused(
      signIn.check({ message: c.message, signature: await wallet.signMessage({ message: c.message }) }),
      "STYX_AUTH_INVALID_CHALLENGE",
      "chain_id",
    );
  });

  it("refuses an expired message, and one whose expiry was stretched", async () => {
    const c = await signIn.challenge(wallet.address);
    const signature = await wallet.signMessage({ message: c.message });
    clock.advance(TTL);
    await refused(signIn.check({ message: c.message, signature }), "STYX_AUTH_INVALID_CHALLENGE", "expiration_time");
    const stretched = c.message.replace(/Expiration Time: .+$/, `Expiration Time: ${new Date(clock.now() + TTL).toISOString()}`);
    await refused(
      signIn.check({ message: stretched, signature: await wallet.signMessage({ message: stretched }) }),
      "STYX_AUTH_INVALID_CHALLENGE",
      "nonce",
    );
  });

  it("refuses a nonce issued for another wallet", async () => {
    const c = await signIn.challenge(stranger.address);
    const message = c.message.replace(stranger.address, wallet.address);
    await refused(signIn.check({ message, signature: await wallet.signMessage({ message }) }), "STYX_AUTH_INVALID_CHALLENGE", "nonce");
  });

  it("refuses a message changed after issue, though its fields still check out", async () => {
    const c = await signIn.challenge(wallet.address);
    for (const message of [
      c.message.replace("Sign in to Styx.", "Sign in to Styx and approve everything."),
      `${c.message}\nRequest ID: 42`,
      `${c.message}\nResources:\n- https://evil.example.com/drain`,
    ]) {
      await refused(signIn.check({ message, signature: await wallet.signMessage({ message }) }), "STYX_AUTH_INVALID_CHALLENGE");
    }
    await refused(
      signIn.check({ message: "Sign in to Styx", signature: await wallet.signMessage({ message: "x" }) }),
      "STYX_AUTH_INVALID_CHALLENGE",
    );
  });

  it("refuses another wallet's signature, a high-s one and a malformed v (EIP-2)", async () => {
    const c = await signIn.challenge(wallet.address);
    const signature = await wallet.signMessage({ message: c.message });
    const other = await stranger.signMessage({ message: c.message });
    const wrong = await refused(signIn.check({ message: c.message, signature: other }), "STYX_AUTH_INVALID_SIGNATURE");
    assert.doesNotMatch(wrong.message, /EIP-2/);
    for (const bad of [highS(signature), withV(signature, Number.parseInt(signature.slice(130), 16) - 27), withV(signature, 29)]) {
      const err = await refused(signIn.check({ message: c.message, signature: bad }), "STYX_AUTH_INVALID_SIGNATURE");
      assert.match(err.message, /EIP-2/);
    }
    assert.equal((await signIn.check({ message: c.message, signature })).nonce, c.nonce, "the genuine one still works");
  });
});

describe("AuthService: sign-in sessions", () => {
  let clock: ManualClock;
  let store: SqliteIdentityStore;
  let audit: MemoryAuditLog;
  let auth: AuthService;
  let ended: string[];

  beforeEach(async () => {
    clock = new ManualClock();
    store = new SqliteIdentityStore(openDatabase(":memory:"));
    audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
    await store.createUser({
      id: "u1",
      walletAddress: wallet.address.toLowerCase(),
      reputation: 0,
      tier: "consumer",
      createdAt: 0,
      updatedAt: 0,
    });
    auth = new AuthService({
      store,
      audit,
      clock,
      verifier: new ViemSignatureVerifier(),
      messages: new ViemSignInMessages(),
      options: { adminToken: "admin-token-0123456789", challengeTtlMs: TTL, challengeKey: KEY, site: here, sessionTtlMs: 3_600_000 },
    });
    ended = [];
    auth.onSessionEnded((id) => ended.push(id));
  });

  const signedIn = async (who = wallet) => {
    const c = await auth.createChallenge(who.address);
    return { message: c.message, signature: await who.signMessage({ message: c.message }) };
  };

  it("spends the nonce: the same signed message signs in once", async () => {
    const signed = await signedIn();
    await auth.verifyChallenge(signed);
    await refused(auth.verifyChallenge(signed), "STYX_AUTH_INVALID_CHALLENGE", "nonce");
  });

  it("lists the user's live sessions and ends one: its token stops working, its listeners hear of it", async () => {
    const a = await auth.verifyChallenge(await signedIn());
    clock.advance(1000);
    const b = await auth.verifyChallenge(await signedIn());
    const principal = await auth.authenticate(b.token);
    assert.equal(principal.kind, "user");
    if (principal.kind !== "user") return;
    const listed = await auth.listSessions(principal);
    assert.deepEqual(
      listed.map((s) => s.expiresAt),
      [a.expiresAt, b.expiresAt],
    );
    const first = listed[0]?.id as string;
    assert.equal((await auth.endSession(principal, first)).id, first);
    await refused(auth.authenticate(a.token), "STYX_AUTH_INVALID_KEY");
    assert.equal((await auth.authenticate(b.token)).kind, "user", "the other session still works");
    assert.deepEqual(ended, [first]);
    assert.deepEqual(
      (await auth.listSessions(principal)).map((s) => s.id),
      [principal.credentialId],
    );
    const record = (await audit.list(0, 100)).find((r) => r.action === "auth.session.end");
    assert.equal(record?.target, `session:${first}`);
    await refused(auth.endSession(principal, first), "STYX_NOT_FOUND");
    clock.advance(3_600_000);
    assert.deepEqual(await auth.listSessions(principal), [], "expired sessions are not listed");
  });
});
