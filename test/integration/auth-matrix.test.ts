import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ManualClock } from "../../src/core/platform/clock.js";
import type { RouteInfo } from "../../src/server/app.js";
import { highS, signedChallenge, walletSession, withV } from "../../src/testing/signatures.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** Valid bodies for routes whose positive case needs one (the test fails for a tenant route without a sample). */
const SAMPLE_BODIES: Record<string, (ids: Ids) => unknown> = {
  "POST /v1/styx/golems": (ids) => ({ parent_golem_id: ids.golemId }),
  "POST /v1/styx/entries": (ids) => ({ golem_id: ids.golemId, layer: "vault", category: "insight", content: "matrix probe" }),
  "POST /v1/styx/query": () => ({ query: "probe" }),
  "POST /v1/styx/entries/batch": (ids) => ({
    entries: [{ golem_id: ids.golemId, layer: "vault", category: "insight", content: "batch probe" }],
  }),
  "POST /v1/styx/entries/:id/validate": (ids) => ({ golem_id: ids.golemId, agrees: true }),
  "POST /v1/styx/clade/register": (ids) => ({ golem_id: ids.golemId, domains: ["probe"] }),
  "POST /v1/styx/golem/:golem_id/steer": () => ({ intent: "probe" }),
  "POST /v1/styx/pheromone/deposit": (ids) => ({
    golem_id: ids.golemId,
    layer: "threat",
    class: "probe",
    intensity: 0.5,
    domain: "probe",
    regime: "calm",
  }),
  "POST /v1/styx/causal/publish": (ids) => ({
    golem_id: ids.golemId,
    from_variable: "a",
    to_variable: "b",
    direction: "positive",
    strength: 0.5,
    lag_ticks: 1,
    evidence_count: 3,
    confidence: 0.7,
    domain: "probe",
    regime: "calm",
  }),
  "POST /v1/styx/credit/topup": () => ({ amount_usd: "1" }),
  "PATCH /v1/admin/keys/:key_id": () => ({ spend_limit: null }),
  "POST /v1/styx/bloodstain": (ids) => ({
    golem_id: ids.golemId,
    generation: 0,
    death_cause: "probe",
    warnings: [],
    timestamp: "2026-01-01T00:00:00.000Z",
  }),
};

/** Ids for routes whose positive case destroys what it names: an erasure gets a golem of its own. */
const SAMPLE_IDS: Record<string, (ids: Ids) => Ids> = {
  "DELETE /v1/styx/golems/:golem_id": (ids) => ({ ...ids, golemId: "alice-doomed" }),
};

/** Query strings for routes whose tenant ids are query parameters. */
const SAMPLE_QUERIES: Record<string, (ids: Ids) => string> = {
  "GET /v1/styx/entries": (ids) => `?golem_id=${ids.golemId}`,
};

interface Ids {
  userId: string;
  golemId: string;
  keyId: string;
  sessionId: string;
  /** An entry of another of the user's golems (the tenant golem may validate it). */
  entryId: string;
}

function fill(url: string, ids: Ids): string {
  return url
    .replace(":user_id", ids.userId)
    .replace(":golem_id", ids.golemId)
    .replace(":key_id", ids.keyId)
    .replace(":session_id", ids.sessionId)
    .replace(":id", ids.entryId);
}

/** Registers a golem with a wallet for the user holding `key` and signs in as it; returns the session's id. */
async function golemSession(s: TestServer, key: string, golemId: string): Promise<string> {
  const wallet = privateKeyToAccount(generatePrivateKey());
  await s.golem(key, { id: golemId, wallet_address: wallet.address, wallet_proof: await signedChallenge(s, wallet) });
  return (await walletSession(s, wallet)).id;
}

describe("auth matrix over every protected route", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let s: TestServer;
  let alice: { id: string; key: string; keyId: string };
  let bob: { id: string; key: string; keyId: string };
  let aliceIds: Ids;
  let revokedKey: string;
  let expiringKey: string;
  let routes: readonly RouteInfo[];

  before(async () => {
    s = await startTestServer({ clock });
    alice = await s.user("alice");
    bob = await s.user("bob");
    const g = await s.golem(alice.key, { id: "alice-g0" });
    aliceIds = { userId: alice.id, golemId: g.id, keyId: alice.keyId, sessionId: "", entryId: "" };
    await s.golem(alice.key, { id: "alice-gx" });
    await s.golem(alice.key, { id: "alice-doomed" });
    const written = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: "alice-gx", layer: "clade", category: "insight", confidence: 0.9, content: "matrix entry" },
    });
    aliceIds.entryId = written.json.id;
    const r = await s.request("POST", "/v1/admin/users/alice/keys", { token: s.adminToken, body: { name: "to-revoke" } });
    revokedKey = r.json.key;
    assert.equal((await s.request("DELETE", `/v1/admin/keys/${r.json.id}`, { token: s.adminToken })).status, 200);
    const e = await s.request("POST", "/v1/admin/users/alice/keys", {
      token: s.adminToken,
      body: { name: "short-lived", expires_at: new Date(clock.now() + 3_600_000).toISOString() },
    });
    expiringKey = e.json.key;
    assert.equal((await s.request("GET", "/v1/styx/me", { token: expiringKey })).status, 200);
    clock.advance(2 * 3_600_000);
    aliceIds.sessionId = await golemSession(s, alice.key, "alice-gw");
    routes = s.styx.app.styxRoutes.filter((r) => r.config.auth !== "public");
    assert.ok(routes.length >= 8, "the route table looks empty");
  });
  after(() => s.close());

  const call = (
    route: RouteInfo,
    token: string | undefined,
    ids: Ids = SAMPLE_IDS[`${route.method} ${route.url}`]?.(aliceIds) ?? aliceIds,
  ) =>
    s.request(route.method, fill(route.url, ids) + (SAMPLE_QUERIES[`${route.method} ${route.url}`]?.(ids) ?? ""), {
      token,
      body: route.hasBody ? (SAMPLE_BODIES[`${route.method} ${route.url}`]?.(ids) ?? {}) : undefined,
    });

  it("answers 401 STYX_AUTH_REQUIRED without a credential", async () => {
    for (const route of routes) {
      const r = await call(route, undefined);
      assert.equal(r.status, 401, `${route.method} ${route.url}`);
      assert.equal(r.json.error.code, "STYX_AUTH_REQUIRED");
    }
  });

  it("answers 401 for a revoked key, an expired key and a made-up key", async () => {
    for (const route of routes) {
      for (const token of [revokedKey, expiringKey, "styx_not-a-real-key"]) {
        const r = await call(route, token);
        assert.equal(r.status, 401, `${route.method} ${route.url}`);
        assert.equal(r.json.error.code, "STYX_AUTH_INVALID_KEY");
      }
    }
  });

  it("refuses user keys on admin routes and the admin token on user routes", async () => {
    for (const route of routes) {
      const token = route.config.auth === "admin" ? alice.key : s.adminToken;
      const r = await call(route, token);
      assert.equal(r.status, 403, `${route.method} ${route.url}`);
      assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
    }
  });

  it("declares tenancy rules on every user route that names a user, golem or session", () => {
    for (const route of routes.filter((r) => r.config.auth !== "admin")) {
      if (/:(user_id|golem_id|session_id)/.test(route.url)) {
        assert.ok(route.config.tenant?.length, `${route.method} ${route.url} has no tenant rule`);
      }
    }
  });

  it("declares on every user route whether a golem credential may call it (SPEC §3)", () => {
    const user = routes.filter((r) => (r.config.auth ?? "user") === "user");
    assert.ok(user.length >= 20, "the user routes look few");
    for (const route of user) {
      assert.ok(
        route.config.golemCredential === "own" || route.config.golemCredential === "owner-only",
        `${route.method} ${route.url} declares no golemCredential rule ("own" or "owner-only")`,
      );
    }
  });

  it("answers 404 to another user's key on tenant routes, audits it, and serves the owner", async () => {
    // The bloodstain last: after it the golem is dead, and every act of it answers 409.
    const isDeath = (r: RouteInfo) => r.url === "/v1/styx/bloodstain";
    const tenantRoutes = routes.filter((r) => r.config.tenant?.length).sort((a, b) => Number(isDeath(a)) - Number(isDeath(b)));
    assert.ok(tenantRoutes.length >= 4);
    const before = (await s.styx.audit.list(0, 10_000)).filter((a) => a.action === "tenancy.denied").length;
    for (const route of tenantRoutes) {
      const key = `${route.method} ${route.url}`;
      if (route.hasBody) assert.ok(SAMPLE_BODIES[key], `add a sample body for ${key}`);
      const denied = await call(route, bob.key);
      assert.equal(denied.status, 404, key);
      assert.equal(denied.json.error.code, "STYX_NOT_FOUND");
      assert.ok(!denied.text.includes("alice"), "a 404 must not echo the other tenant's ids");
      const own = await call(route, alice.key);
      assert.ok(own.status >= 200 && own.status < 300, `${key} → ${own.status} ${own.text}`);
    }
    const denials = (await s.styx.audit.list(0, 10_000)).filter((a) => a.action === "tenancy.denied");
    assert.equal(denials.length - before, tenantRoutes.length);
    assert.ok(denials.every((d) => d.actor === "user:bob"));
  });

  it("confines a golem-bound key to its golem and refuses it the owner's views and actions", async () => {
    const other = await s.golem(alice.key, { id: "alice-g1" });
    const k = await s.request("POST", "/v1/admin/users/alice/keys", { token: s.adminToken, body: { name: "bound", golem_id: "alice-g0" } });
    const bound = k.json.key;
    const golems = (await s.styx.storage.identity.listGolems("alice")).length;
    assert.equal((await s.request("GET", "/v1/styx/golems/alice-g0", { token: bound })).status, 200);
    assert.equal((await s.request("GET", `/v1/styx/golems/${other.id}`, { token: bound })).status, 404);
    for (const [method, path, body] of [
      ["GET", "/v1/styx/users/alice/golems"],
      ["GET", "/v1/styx/users/alice"],
      ["POST", "/v1/styx/golems", {}],
      ["POST", "/v1/styx/golems", { parent_golem_id: "alice-g0" }],
      ["GET", "/v1/styx/lineage/alice"],
      ["POST", "/v1/styx/golem/alice-g0/steer", { intent: "self" }],
    ] as const) {
      const r = await s.request(method, path, { token: bound, body });
      assert.equal(r.status, 403, `${method} ${path} → ${r.status} ${r.text}`);
      assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
    }
    assert.equal((await s.request("GET", "/v1/styx/clade/peers/alice", { token: bound })).status, 200, "the clade is shared by design");
    assert.equal((await s.styx.storage.identity.listGolems("alice")).length, golems, "nothing registered");
  });

  it("refuses a read-only key on write routes", async () => {
    const k = await s.request("POST", "/v1/admin/users/alice/keys", { token: s.adminToken, body: { name: "ro", scopes: ["read"] } });
    assert.equal((await s.request("GET", "/v1/styx/me", { token: k.json.key })).status, 200);
    const w = await s.request("POST", "/v1/styx/golems", { token: k.json.key, body: {} });
    assert.equal(w.status, 403);
    assert.match(w.json.error.message, /write/);
  });
});

describe("wallet sign-in (EIP-4361)", () => {
  let s: TestServer;
  const account = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    s = await startTestServer({ env: { STYX_PUBLIC_URL: "https://styx.example.com" } });
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "w1", wallet_address: account.address } });
    assert.equal(u.status, 201);
  });
  after(() => s.close());

  const challenge = async (on: TestServer = s, who = account) => {
    const c = await on.request("POST", "/v1/auth/challenge", { body: { wallet_address: who.address } });
    assert.equal(c.status, 201);
    return c.json as { nonce: string; message: string };
  };
  const verify = (message: string, signature: string, on: TestServer = s) =>
    on.request("POST", "/v1/auth/verify", { body: { message, signature } });

  it("issues an EIP-4361 message for STYX_PUBLIC_URL and STYX_CHAIN_ID", async () => {
    const c = await challenge();
    assert.match(c.message, /^styx\.example\.com wants you to sign in with your Ethereum account:\n0x[0-9a-fA-F]{40}\n/);
    for (const line of ["URI: https://styx.example.com", "Version: 1", "Chain ID: 8453", `Nonce: ${c.nonce}`]) {
      assert.ok(c.message.includes(`\n${line}\n`), line);
    }
    assert.match(c.message, /\nIssued At: .+\nExpiration Time: .+$/);
  });

  it("accepts a valid signature once and the session token authenticates", async () => {
    const c = await challenge();
    const signature = await account.signMessage({ message: c.message });
    const ok = await verify(c.message, signature);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.user_id, "w1");
    const me = await s.request("GET", "/v1/styx/me", { token: ok.json.token });
    assert.equal(me.json.credential.via, "session");
    const replay = await verify(c.message, signature);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, "STYX_AUTH_INVALID_CHALLENGE");
    assert.deepEqual(replay.json.error.details, [{ path: "/message", field: "nonce" }]);
  });

  it("refuses an altered signature and keeps the nonce usable by the real one", async () => {
    const c = await challenge();
    const signature = await account.signMessage({ message: c.message });
    const flipped = signature.slice(0, 10) + (signature[10] === "a" ? "b" : "a") + signature.slice(11);
    const bad = await verify(c.message, flipped);
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
    assert.equal((await verify(c.message, signature)).status, 200);
  });

  it("refuses the high-s mirror and a malformed v of a valid signature (EIP-2), then takes the genuine one", async () => {
    const c = await challenge();
    const signature = await account.signMessage({ message: c.message });
    for (const bad of [highS(signature), withV(signature, Number.parseInt(signature.slice(130), 16) - 27), withV(signature, 29)]) {
      const r = await verify(c.message, bad);
      assert.equal(r.status, 401, bad.slice(130));
      assert.equal(r.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
      assert.match(r.json.error.message, /EIP-2/);
    }
    assert.equal((await verify(c.message, signature)).status, 200);
  });

  it("refuses a signature over an altered message or by another wallet", async () => {
    const c = await challenge();
    const altered = c.message.replace("Sign in to Styx.", "Sign in to Styx, and more.");
    const r1 = await verify(altered, await account.signMessage({ message: altered }));
    assert.equal(r1.status, 401);
    assert.equal(r1.json.error.code, "STYX_AUTH_INVALID_CHALLENGE");
    const r2 = await verify(c.message, await stranger.signMessage({ message: c.message }));
    assert.equal(r2.status, 401);
    assert.equal(r2.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
  });

  it("refuses a message issued for another domain or URI, or on another chain", async () => {
    const elsewhere = await startTestServer({ env: { STYX_PUBLIC_URL: "https://evil.example.com" } });
    const onePort = await startTestServer({ env: { STYX_PUBLIC_URL: "https://styx.example.com:8443" } });
    const mainnet = await startTestServer({ env: { STYX_PUBLIC_URL: "https://styx.example.com", STYX_CHAIN_ID: "1" } });
    try {
      for (const [other, field] of [
        [elsewhere, "domain"],
        [onePort, "domain"],
        [mainnet, "chain_id"],
      ] as const) {
        const c = await challenge(other);
        const r = await verify(c.message, await account.signMessage({ message: c.message }));
        assert.equal(r.status, 401, field);
        assert.equal(r.json.error.code, "STYX_AUTH_INVALID_CHALLENGE");
        assert.deepEqual(r.json.error.details, [{ path: "/message", field }]);
      }
      const c = await challenge();
      const message = c.message.replace("URI: https://styx.example.com", "URI: https://evil.example.com");
      const r = await verify(message, await account.signMessage({ message }));
      assert.deepEqual([r.status, r.json.error.details], [401, [{ path: "/message", field: "uri" }]]);
    } finally {
      await Promise.all([elsewhere.close(), onePort.close(), mainnet.close()]);
    }
  });

  it("tells a client from before EIP-4361 what to send, on verify and on a golem's wallet proof", async () => {
    const c = await challenge();
    const signature = await account.signMessage({ message: c.message });
    const r = await s.request("POST", "/v1/auth/verify", { body: { wallet_address: account.address, nonce: c.nonce, signature } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "STYX_AUTH_SIWE_REQUIRED");
    assert.match(r.json.error.message, /EIP-4361/);
    const owner = await s.user();
    const g = await s.request("POST", "/v1/styx/golems", {
      token: owner.key,
      body: { wallet_address: account.address, wallet_proof: { nonce: c.nonce, signature } },
    });
    assert.equal(g.status, 400);
    assert.equal(g.json.error.code, "STYX_AUTH_SIWE_REQUIRED");
    assert.deepEqual(g.json.error.details, [{ path: "/wallet_proof/nonce" }]);
    assert.equal((await verify(c.message, signature)).status, 200, "nothing was spent");
  });

  it("binds the session to a golem that registered the wallet", async () => {
    const owner = await s.user("w2");
    const golemWallet = privateKeyToAccount(generatePrivateKey());
    const proof = await challenge(s, golemWallet);
    const proofSig = await golemWallet.signMessage({ message: proof.message });
    await s.golem(owner.key, {
      id: "w2-g",
      wallet_address: golemWallet.address,
      wallet_proof: { message: proof.message, signature: proofSig },
    });
    const c = await challenge(s, golemWallet);
    const ok = await verify(c.message, await golemWallet.signMessage({ message: c.message }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.golem_id, "w2-g");
    assert.equal(ok.json.user_id, "w2");
  });

  it("refuses to attach a wallet to a golem without proof from that wallet", async () => {
    const mallory = await s.user("mallory");
    const bare = await s.request("POST", "/v1/styx/golems", { token: mallory.key, body: { id: "trap", wallet_address: account.address } });
    assert.equal(bare.status, 400);
    assert.match(bare.json.error.message, /wallet_proof/);
    const c = await challenge();
    const forged = await stranger.signMessage({ message: c.message });
    const r = await s.request("POST", "/v1/styx/golems", {
      token: mallory.key,
      body: { id: "trap", wallet_address: account.address, wallet_proof: { message: c.message, signature: forged } },
    });
    assert.equal(r.status, 401);
    // Mallory's own wallet proves nothing about another wallet_address.
    const own = await challenge(s, stranger);
    const swapped = await s.request("POST", "/v1/styx/golems", {
      token: mallory.key,
      body: {
        id: "trap",
        wallet_address: account.address,
        wallet_proof: { message: own.message, signature: await stranger.signMessage({ message: own.message }) },
      },
    });
    assert.equal(swapped.status, 401);
    assert.deepEqual(swapped.json.error.details, [{ path: "/message", field: "address" }]);
    assert.equal(await s.styx.storage.identity.getGolem("trap"), undefined);
  });
});

describe("wallet challenges", () => {
  it("expire after five minutes", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const s = await startTestServer({ clock });
    try {
      const account = privateKeyToAccount(generatePrivateKey());
      await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "late", wallet_address: account.address } });
      const c = await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: account.address } });
      const signature = await account.signMessage({ message: c.json.message });
      clock.advance(5 * 60_000);
      const r = await s.request("POST", "/v1/auth/verify", { body: { message: c.json.message, signature } });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json.error.details, [{ path: "/message", field: "expiration_time" }]);
    } finally {
      await s.close();
    }
  });

  it("store nothing until a signed one is used, and refuse a nonce issued for another wallet", async () => {
    const s = await startTestServer({ persistent: true });
    try {
      const account = privateKeyToAccount(generatePrivateKey());
      await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "nonce-u", wallet_address: account.address } });
      const other = privateKeyToAccount(generatePrivateKey());
      for (let i = 0; i < 50; i++)
        assert.equal((await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: other.address } })).status, 201);
      const rows = async () => Number((await s.sql("SELECT COUNT(*) AS n FROM used_nonces"))[0].n);
      assert.equal(await rows(), 0, "anonymous challenges wrote rows");
      // A nonce issued for another wallet, signed by ours: the HMAC binds it to that wallet.
      const foreign = await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: other.address } });
      const message = (foreign.json.message as string).replace(other.address, account.address);
      const r = await s.request("POST", "/v1/auth/verify", { body: { message, signature: await account.signMessage({ message }) } });
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, "STYX_AUTH_INVALID_CHALLENGE");
      assert.deepEqual(r.json.error.details, [{ path: "/message", field: "nonce" }]);
      const mine = await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: account.address } });
      const ok = await s.request("POST", "/v1/auth/verify", {
        body: { message: mine.json.message, signature: await account.signMessage({ message: mine.json.message }) },
      });
      assert.equal(ok.status, 200);
      assert.equal(await rows(), 1);
    } finally {
      await s.close();
    }
  });
});
