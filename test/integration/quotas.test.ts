import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { walletSession } from "../../src/testing/signatures.js";
import { startTestServer, type TestResponse, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const OCTETS = { "content-type": "application/octet-stream" };
const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

describe("per-user budgets and quotas (SPEC §12): one bucket per user, quotas by name, usage views", () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  /** A user with an owner key and one golem; `override` set by the admin first. */
  async function tenant(override?: Record<string, number>) {
    const u = await s.user();
    const golem = (await s.golem(u.key)).id;
    if (override) await put(u.id, override, 200);
    return { ...u, golem };
  }

  async function put(userId: string, body: unknown, status: number): Promise<TestResponse> {
    const r = await s.request("PUT", `/v1/admin/users/${userId}/usage`, { token: s.adminToken, body });
    assert.equal(r.status, status, r.text);
    return r;
  }

  const write = (key: string, golem: string, body: Record<string, unknown> = {}) =>
    s.request("POST", "/v1/styx/entries", {
      token: key,
      body: { golem_id: golem, layer: "vault", category: "insight", content: "a note", ...body },
    });
  const deposit = (key: string, golem: string) =>
    s.request("POST", "/v1/styx/pheromone/deposit", {
      token: key,
      body: { golem_id: golem, layer: "threat", regime: "bull", class: "rug-pull", intensity: 0.5, domain: "defi" },
    });

  /** Asserts the one quota refusal: 429 STYX_QUOTA_EXCEEDED naming the quota, its limit and use. */
  function refusedBy(r: TestResponse, quota: string, limit: number, used: number, windowed: boolean) {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, "STYX_QUOTA_EXCEEDED");
    assert.equal(r.json.error.details.quota, quota);
    assert.equal(r.json.error.details.limit, limit);
    assert.equal(r.json.error.details.used, used);
    if (windowed) {
      assert.ok(r.json.error.details.retry_after_ms > 0, r.text);
      assert.ok(Number(r.headers.get("retry-after")) >= 1);
    }
  }

  it("makes four keys and three wallet sessions of one user spend ONE budget over HTTP; another user keeps its own", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { wallet_address: wallet.address } });
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      const k = await s.request("POST", `/v1/admin/users/${u.json.id}/keys`, { token: s.adminToken, body: { name: `k${i}` } });
      tokens.push(k.json.key);
    }
    for (let i = 0; i < 3; i++) tokens.push((await walletSession(s, wallet)).token);
    // Set once the credentials exist: signing in spends tokens of its own.
    await put(u.json.id, { rate: 1, burst: 10 }, 200);
    const other = await s.user();
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const token of tokens) statuses.push((await s.request("GET", "/v1/styx/me", { token })).status);
    }
    const ok = statuses.filter((x) => x === 200).length;
    // 10 in the bucket, plus what refills at 1/s while the 21 requests run; each credential alone would have had 10.
    assert.ok(ok >= 10 && ok <= 12, `${ok} of 21 answered: ${statuses.join(",")}`);
    assert.equal(statuses.filter((x) => x === 429).length, 21 - ok);
    const refused = await s.request("GET", "/v1/styx/me", { token: tokens[6] as string });
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, "STYX_RATE_LIMITED");
    assert.ok(refused.json.error.details.retry_after_ms > 0);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal((await s.request("GET", "/v1/styx/me", { token: other.key })).status, 200, "another user is unaffected");
  });

  it("makes the user's sockets and HTTP draw from the same bucket; a refused message is an error frame and the socket stays open", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { wallet_address: wallet.address } });
    const userId = u.json.id as string;
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      keys.push((await s.request("POST", `/v1/admin/users/${userId}/keys`, { token: s.adminToken, body: { name: `k${i}` } })).json.key);
    }
    const sessions = [await walletSession(s, wallet), await walletSession(s, wallet), await walletSession(s, wallet)];
    const socks = await Promise.all([...keys, ...sessions.map((x) => x.token)].map(async (t) => (await TestSocket.connect(s.url, t)).sock));
    await put(userId, { rate: 1, burst: 8 }, 200);
    try {
      const answers: { type: string; code?: string; details?: { retry_after_ms?: number } }[] = [];
      for (let round = 0; round < 2; round++) {
        for (const sock of socks) answers.push(await sock.request({ type: "subscribe", domains: [`d${round}`] }));
      }
      const ok = answers.filter((a) => a.type === "subscribed").length;
      assert.ok(ok >= 8 && ok <= 10, `${ok} of 14 messages answered: ${answers.map((a) => a.type).join(",")}`);
      const refused = answers.filter((a) => a.type === "error");
      assert.equal(refused.length, 14 - ok);
      for (const a of refused) {
        assert.equal(a.code, "STYX_RATE_LIMITED");
        assert.ok((a.details?.retry_after_ms ?? 0) > 0, JSON.stringify(a));
      }
      const http = await s.request("GET", "/v1/styx/me", { token: keys[0] as string });
      assert.equal(http.status, 429, "HTTP draws from the bucket the sockets emptied");
      assert.equal((await (socks[0] as TestSocket).request({ type: "ping" })).type, "pong", "the socket stays open");
    } finally {
      for (const sock of socks) await sock.close();
    }
  });

  it("refuses entries past entries_per_day, naming the quota", async () => {
    const t = await tenant({ entries_per_day: 2 });
    assert.equal((await write(t.key, t.golem)).status, 201);
    assert.equal((await write(t.key, t.golem, { content: "another" })).status, 201);
    refusedBy(await write(t.key, t.golem, { content: "third" }), "entries_per_day", 2, 2, true);
    const batch = await s.request("GET", "/v1/styx/usage", { token: t.key });
    assert.equal(batch.json.quotas.entries_per_day.used, 2, "a refused write counts nothing");
  });

  it("refuses lethe writes past lethe_writes_per_day; vault writes go on", async () => {
    const t = await tenant({ lethe_writes_per_day: 1 });
    const lethe = { layer: "lethe", domain: "perps", category: "warning", confidence: 0.9 };
    assert.equal((await write(t.key, t.golem, { ...lethe, content: "funding flips at the hour" })).status, 201);
    refusedBy(await write(t.key, t.golem, { ...lethe, content: "liquidations cluster" }), "lethe_writes_per_day", 1, 1, true);
    assert.equal((await write(t.key, t.golem, { content: "a vault note" })).status, 201);
  });

  it("refuses deposits past deposits_per_minute", async () => {
    const t = await tenant({ deposits_per_minute: 2 });
    assert.equal((await deposit(t.key, t.golem)).status, 201);
    assert.equal((await deposit(t.key, t.golem)).status, 201);
    refusedBy(await deposit(t.key, t.golem), "deposits_per_minute", 2, 2, true);
  });

  it("refuses entries and blobs past stored_bytes, keeping nothing", async () => {
    const t = await tenant({ stored_bytes: 100 });
    const content = "x".repeat(60);
    assert.equal((await write(t.key, t.golem, { content })).status, 201);
    const used = utf8(content) + utf8("{}");
    refusedBy(await write(t.key, t.golem, { content: "y".repeat(60) }), "stored_bytes", 100, used, false);
    const blob = await s.request("PUT", "/v1/styx/blobs", { token: t.key, raw: new Uint8Array(50).fill(7), headers: OCTETS });
    refusedBy(blob, "stored_bytes", 100, used, false);
    const small = await s.request("PUT", "/v1/styx/blobs", { token: t.key, raw: new Uint8Array(30).fill(7), headers: OCTETS });
    assert.equal(small.status, 201, small.text);
    const usage = await s.request("GET", "/v1/styx/usage", { token: t.key });
    assert.equal(usage.json.quotas.stored_bytes.used, used + 30);
    const full = await s.request("PUT", "/v1/styx/blobs", { token: t.key, raw: new Uint8Array(10).fill(1), headers: OCTETS });
    refusedBy(full, "stored_bytes", 100, used + 30, false);
  });

  it("reports what was stored: bytes of entries and blobs, entries, lethe writes and deposits, and the tier's limits", async () => {
    const t = await tenant();
    const a = { content: "héllo wörld", metadata: { source: "feed", n: 3 } };
    const b = { content: "second note" };
    assert.equal((await write(t.key, t.golem, a)).status, 201);
    assert.equal((await write(t.key, t.golem, b)).status, 201);
    const batch = await s.request("POST", "/v1/styx/entries/batch", {
      token: t.key,
      body: { entries: [{ golem_id: t.golem, layer: "vault", category: "insight", content: "batched" }] },
    });
    assert.equal(batch.status, 201, batch.text);
    const blob = new Uint8Array(1234).fill(9);
    assert.equal((await s.request("PUT", "/v1/styx/blobs", { token: t.key, raw: blob, headers: OCTETS })).status, 201);
    assert.equal(
      (await s.request("PUT", "/v1/styx/blobs", { token: t.key, raw: blob, headers: OCTETS })).status,
      201,
      "the same blob again",
    );
    assert.equal((await deposit(t.key, t.golem)).status, 201);
    const r = await s.request("GET", "/v1/styx/usage", { token: t.key });
    assert.equal(r.status, 200, r.text);
    const bytes = utf8(a.content) + utf8(JSON.stringify(a.metadata)) + utf8(b.content) + 2 + utf8("batched") + 2 + blob.length;
    assert.equal(r.json.user_id, t.id);
    assert.equal(r.json.tier, "consumer", "new users get STYX_DEFAULT_TIER");
    assert.deepEqual(r.json.rate, { ...s.styx.config.rateLimit }, "the default tier's bucket is STYX_RATE_LIMIT");
    assert.deepEqual(r.json.quotas.stored_bytes, { limit: 256 * 1024 * 1024, used: bytes });
    assert.equal(r.json.quotas.entries_per_day.used, 3);
    const tier = s.styx.config.quotas.table.consumer.quotas;
    assert.equal(r.json.quotas.entries_per_day.limit, tier.entries_per_day, "the tier's (raised by the test server's STYX_QUOTAS)");
    assert.ok(Date.parse(r.json.quotas.entries_per_day.resets_at) > Date.now());
    assert.equal(r.json.quotas.lethe_writes_per_day.used, 0);
    assert.deepEqual([r.json.quotas.deposits_per_minute.used, r.json.quotas.deposits_per_minute.limit], [1, tier.deposits_per_minute]);
    assert.deepEqual(r.json.quotas.sockets_per_user, { limit: 100, used: 0 });
    assert.deepEqual(r.json.quotas.sockets_per_ip, { limit: 200, used: null });
    assert.deepEqual(r.json.override, {});
    const admin = await s.request("GET", `/v1/admin/users/${t.id}/usage`, { token: s.adminToken });
    assert.equal(admin.status, 200, admin.text);
    assert.deepEqual(admin.json.quotas.stored_bytes, r.json.quotas.stored_bytes);
  });

  it("lets the admin set, read and clear a user's override (audited); unknown users answer 404", async () => {
    const t = await tenant();
    const set = await put(t.id, { rate: 5, burst: 9, stored_bytes: 1000, sockets_per_key: 3 }, 200);
    assert.deepEqual(set.json.override, { rate: 5, burst: 9, stored_bytes: 1000, sockets_per_key: 3 });
    assert.deepEqual(set.json.rate, { rate: 5, burst: 9 });
    assert.equal(set.json.quotas.stored_bytes.limit, 1000);
    assert.equal(
      set.json.quotas.entries_per_day.limit,
      s.styx.config.quotas.table.consumer.quotas.entries_per_day,
      "cells left out follow the tier",
    );
    const own = await s.request("GET", "/v1/styx/usage", { token: t.key });
    assert.deepEqual(own.json.override, set.json.override, "the user sees the override at once");
    const cleared = await put(t.id, {}, 200);
    assert.deepEqual(cleared.json.override, {});
    assert.equal(cleared.json.quotas.stored_bytes.limit, 256 * 1024 * 1024);
    const records = (await s.styx.audit.list(0, 100_000)).filter((x) => x.action === "user.limits" && x.target === `user:${t.id}`);
    assert.equal(records.length, 2);
    assert.equal(records[0]?.actor, "admin");
    assert.equal((await s.request("GET", "/v1/admin/users/nobody-here/usage", { token: s.adminToken })).status, 404);
    await put("nobody-here", { rate: 3 }, 404);
  });

  it("moves a user to another tier: its limits follow at once, the override stays on top (audited as user.tier)", async () => {
    const t = await tenant({ deposits_per_minute: 7 });
    const table = s.styx.config.quotas.table;
    const moved = await put(t.id, { tier: "steward", deposits_per_minute: 7 }, 200);
    assert.equal(moved.json.tier, "steward");
    assert.equal(moved.json.quotas.entries_per_day.limit, table.steward.quotas.entries_per_day);
    assert.equal(moved.json.quotas.deposits_per_minute.limit, 7, "the override still applies");
    const own = await s.request("GET", "/v1/styx/usage", { token: t.key });
    assert.equal(own.json.tier, "steward", "the user sees the new tier at once");
    assert.equal(own.json.rate.rate, moved.json.rate.rate);
    // Without `tier` the tier stays; `{}` clears the override only.
    const cleared = await put(t.id, {}, 200);
    assert.equal(cleared.json.tier, "steward");
    assert.equal(cleared.json.quotas.deposits_per_minute.limit, table.steward.quotas.deposits_per_minute);
    const records = (await s.styx.audit.list(0, 100_000)).filter((x) => x.action === "user.tier" && x.target === `user:${t.id}`);
    assert.equal(records.length, 1);
    assert.deepEqual(JSON.parse(String(records[0]?.details)), { from: "consumer", to: "steward" });
    for (const tier of ["platinum", "__proto__", "constructor", "", 3]) {
      const r = await put(t.id, { tier }, 400);
      assert.equal(r.json.error.code, "STYX_VALIDATION", String(tier));
    }
    await put("nobody-here", { tier: "steward" }, 404);
    assert.equal((await s.request("GET", `/v1/admin/users/${t.id}/usage`, { token: s.adminToken })).json.tier, "steward");
  });

  it("validates the override: unknown fields, negatives, zero rates and wrong types are 400; user keys are refused", async () => {
    const t = await tenant();
    for (const body of [{ bogus: 1 }, { stored_bytes: -1 }, { rate: 0 }, { burst: 0 }, { entries_per_day: "10" }, { rate: 1.5 }, []]) {
      const r = await put(t.id, body, 400);
      assert.equal(r.json.error.code, "STYX_VALIDATION", JSON.stringify(body));
    }
    const byUser = await s.request("PUT", `/v1/admin/users/${t.id}/usage`, { token: t.key, body: { rate: 1000 } });
    assert.equal(byUser.status, 403);
    assert.equal((await s.request("GET", `/v1/admin/users/${t.id}/usage`, { token: t.key })).status, 403);
  });

  it("answers a golem credential's /v1/styx/usage with 403 (an owner view, SPEC §3)", async () => {
    const t = await tenant();
    const k = await s.request("POST", `/v1/admin/users/${t.id}/keys`, { token: s.adminToken, body: { name: "g", golem_id: t.golem } });
    const r = await s.request("GET", "/v1/styx/usage", { token: k.json.key });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
  });

  it("leaves other users alone when one is capped", async () => {
    const capped = await tenant({ entries_per_day: 0, deposits_per_minute: 0, stored_bytes: 0 });
    const free = await tenant();
    refusedBy(await write(capped.key, capped.golem), "stored_bytes", 0, 0, false);
    assert.equal((await write(free.key, free.golem)).status, 201);
    assert.equal((await deposit(free.key, free.golem)).status, 201);
  });
});
