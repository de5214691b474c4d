import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signedChallenge, walletSession } from "../../src/testing/signatures.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

describe("wallet sessions: GET /v1/auth/sessions, DELETE /v1/auth/sessions/:id", () => {
  let s: TestServer;
  const golemWallet = privateKeyToAccount(generatePrivateKey());
  let owner: { id: string; key: string };
  let golemId: string;

  before(async () => {
    s = await startTestServer();
    owner = await s.user();
    // The owner signs in through its golem's wallet; users with wallets of their own come from walletUser.
    golemId = (await s.golem(owner.key, { wallet_address: golemWallet.address, wallet_proof: await signedChallenge(s, golemWallet) })).id;
  });
  after(() => s.close());

  /** A user with a wallet and an API key, signed in `n` times. */
  async function walletUser(n: number) {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { wallet_address: wallet.address } });
    const k = await s.request("POST", `/v1/admin/users/${u.json.id}/keys`, { token: s.adminToken, body: { name: "k" } });
    const sessions = [];
    for (let i = 0; i < n; i++) sessions.push(await walletSession(s, wallet));
    return { id: u.json.id as string, key: k.json.key as string, sessions };
  }

  it("lists the user's live sessions, marking the caller's own, never with a token", async () => {
    const u = await walletUser(2);
    const [a, b] = u.sessions as [{ token: string; id: string }, { token: string; id: string }];
    const byKey = await s.request("GET", "/v1/auth/sessions", { token: u.key });
    assert.equal(byKey.status, 200, byKey.text);
    assert.deepEqual(
      byKey.json.sessions.map((x: { id: string; user_id: string; current: boolean }) => [x.id, x.user_id, x.current]),
      [
        [a.id, u.id, false],
        [b.id, u.id, false],
      ],
    );
    const bySession = await s.request("GET", "/v1/auth/sessions", { token: b.token });
    assert.deepEqual(
      bySession.json.sessions.map((x: { current: boolean }) => x.current),
      [false, true],
    );
    assert.ok(!bySession.text.includes(a.token) && !bySession.text.includes(b.token), "no token is ever listed");
    assert.deepEqual(Object.keys(bySession.json.sessions[0]).sort(), ["created_at", "current", "expires_at", "golem_id", "id", "user_id"]);
  });

  it("ends a session: its HTTP use answers 401 and its open sockets close with 4401, others stay", { timeout: 10_000 }, async () => {
    const u = await walletUser(2);
    const [doomed, kept] = u.sessions as [{ token: string; id: string }, { token: string; id: string }];
    const doomedSocket = await TestSocket.connect(s.url, doomed.token);
    const keptSocket = await TestSocket.connect(s.url, kept.token);
    const keySocket = await TestSocket.connect(s.url, u.key);
    const t0 = performance.now();
    const r = await s.request("DELETE", `/v1/auth/sessions/${doomed.id}`, { token: u.key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, doomed.id);
    const { code, reason } = await doomedSocket.sock.closed;
    assert.equal(code, 4401);
    assert.match(reason, /session was ended/);
    assert.ok(performance.now() - t0 < 1000, "closed within a second of the DELETE");
    const after = await s.request("GET", "/v1/styx/me", { token: doomed.token });
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, "STYX_AUTH_INVALID_KEY");
    assert.equal((await keptSocket.sock.request({ type: "ping" })).type, "pong", "another session's socket stays open");
    assert.equal((await keySocket.sock.request({ type: "ping" })).type, "pong", "the key's socket stays open");
    assert.equal((await s.request("GET", "/v1/styx/me", { token: kept.token })).status, 200);
    assert.deepEqual(
      (await s.request("GET", "/v1/auth/sessions", { token: u.key })).json.sessions.map((x: { id: string }) => x.id),
      [kept.id],
    );
    const again = await s.request("DELETE", `/v1/auth/sessions/${doomed.id}`, { token: u.key });
    assert.equal(again.status, 404);
    const audit = await s.styx.audit.list(0, 100_000);
    assert.ok(
      audit.some((x) => x.action === "auth.session.end" && x.target === `session:${doomed.id}`),
      "the end is audited",
    );
    await Promise.all([keptSocket.sock.close(), keySocket.sock.close()]);
  });

  it("lets a session end itself (sign out)", async () => {
    const u = await walletUser(1);
    const [self] = u.sessions as [{ token: string; id: string }];
    assert.equal((await s.request("DELETE", `/v1/auth/sessions/${self.id}`, { token: self.token })).status, 200);
    assert.equal((await s.request("GET", "/v1/auth/sessions", { token: self.token })).status, 401);
  });

  it("answers 404 for another user's session, audits it, and leaves the session working", async () => {
    const victim = await walletUser(1);
    const [session] = victim.sessions as [{ token: string; id: string }];
    const r = await s.request("DELETE", `/v1/auth/sessions/${session.id}`, { token: owner.key });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "STYX_NOT_FOUND");
    const audit = await s.styx.audit.list(0, 100_000);
    assert.ok(audit.some((x) => x.action === "tenancy.denied" && x.target === `session:${session.id}`));
    assert.equal((await s.request("GET", "/v1/styx/me", { token: session.token })).status, 200);
    const listed = await s.request("GET", "/v1/auth/sessions", { token: owner.key });
    assert.ok(!listed.json.sessions.some((x: { id: string }) => x.id === session.id), "not listed to another user");
  });

  it("confines a golem's session to its golem: it sees and ends only its golem's sessions; the owner sees all", async () => {
    const g1 = await walletSession(s, golemWallet);
    const g2 = await walletSession(s, golemWallet);
    const other = privateKeyToAccount(generatePrivateKey());
    await s.golem(owner.key, { wallet_address: other.address, wallet_proof: await signedChallenge(s, other) });
    const sibling = await walletSession(s, other);
    const seen = await s.request("GET", "/v1/auth/sessions", { token: g1.token });
    assert.deepEqual(
      seen.json.sessions.map((x: { id: string; golem_id: string }) => [x.id, x.golem_id]),
      [
        [g1.id, golemId],
        [g2.id, golemId],
      ],
    );
    assert.equal((await s.request("DELETE", `/v1/auth/sessions/${sibling.id}`, { token: g1.token })).status, 404);
    assert.equal((await s.request("GET", "/v1/styx/me", { token: sibling.token })).status, 200);
    const all = await s.request("GET", "/v1/auth/sessions", { token: owner.key });
    assert.deepEqual(new Set(all.json.sessions.map((x: { id: string }) => x.id)), new Set([g1.id, g2.id, sibling.id]));
    assert.equal((await s.request("DELETE", `/v1/auth/sessions/${g2.id}`, { token: g1.token })).status, 200);
    assert.equal((await s.request("DELETE", `/v1/auth/sessions/${sibling.id}`, { token: owner.key })).status, 200);
  });

  it("needs the write scope to end a session, and a credential to list them", async () => {
    const u = await walletUser(1);
    const ro = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: "ro", scopes: ["read"] } });
    assert.equal((await s.request("GET", "/v1/auth/sessions", { token: ro.json.key })).status, 200);
    const [session] = u.sessions as [{ token: string; id: string }];
    assert.equal((await s.request("DELETE", `/v1/auth/sessions/${session.id}`, { token: ro.json.key })).status, 403);
    assert.equal((await s.request("GET", "/v1/auth/sessions")).status, 401);
    assert.equal((await s.request("GET", "/v1/auth/sessions", { token: s.adminToken })).status, 403);
  });
});
