import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

describe("WS /v1/styx/ws: admission, authentication and the frame envelope", () => {
  let s: TestServer;
  let alice: { id: string; key: string; keyId: string };
  let bob: { id: string; key: string; keyId: string };
  let aliceGolem: string;
  let bobGolem: string;

  before(async () => {
    s = await startTestServer({ env: { STYX_WS_PING_INTERVAL: "150ms" } });
    alice = await s.user();
    bob = await s.user();
    aliceGolem = (await s.golem(alice.key)).id;
    bobGolem = (await s.golem(bob.key)).id;
  });
  after(() => s.close());

  it("closes a socket that never authenticates within 5 s, with 4401", { timeout: 10_000 }, async () => {
    const fresh = await startTestServer();
    try {
      const sock = await TestSocket.open(fresh.url);
      const t0 = performance.now();
      const { code } = await sock.closed;
      const ms = performance.now() - t0;
      assert.equal(code, 4401);
      assert.ok(ms <= 5_300, `closed after ${ms} ms`);
      assert.equal(sock.frames.at(-1)?.code, "STYX_AUTH_REQUIRED");
    } finally {
      await fresh.close();
    }
  });

  it("authenticates by header, by ?token= and by a first auth message, and welcomes with the user stream position", async () => {
    const byHeader = await TestSocket.connect(s.url, alice.key);
    assert.equal(byHeader.welcome.user_id, alice.id);
    assert.deepEqual(Object.keys(byHeader.welcome.streams), [`user:${alice.id}`]);
    assert.equal(typeof byHeader.welcome.streams[`user:${alice.id}`].epoch, "string");

    const byQuery = await TestSocket.open(s.url, { token: alice.key, query: true });
    assert.equal((await byQuery.next((f) => f.type === "welcome")).user_id, alice.id);

    const byMessage = await TestSocket.open(s.url);
    const w = await byMessage.request({ type: "auth", token: alice.key });
    assert.equal(w.type, "welcome");
    const again = await byMessage.request({ type: "auth", token: alice.key });
    assert.equal(again.code, "STYX_BAD_REQUEST");
    await Promise.all([byHeader.sock.close(), byQuery.close(), byMessage.close()]);
  });

  it("refuses a bad credential with an error frame and 4401, and a message before auth", async () => {
    const bad = await TestSocket.open(s.url, { token: "styx_not-a-real-key" });
    assert.equal((await bad.closed).code, 4401);
    assert.equal(bad.frames[0]?.code, "STYX_AUTH_INVALID_KEY");

    const early = await TestSocket.open(s.url);
    early.send({ type: "ping" });
    assert.equal((await early.closed).code, 4401);
  });

  it("answers an upgrade on another path with 404 and never opens a socket", async () => {
    const ws = new WebSocket(`${s.url.replace("http", "ws")}/v1/styx/other`);
    const status = await new Promise<number>((resolve) => ws.once("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 404);
  });

  it("closes with 1009 on a frame over 1 MiB and keeps serving others", async () => {
    const { sock } = await TestSocket.connect(s.url, alice.key);
    sock.send({ type: "ping", id: "x".repeat(1024 * 1024) });
    assert.equal((await sock.closed).code, 1009);
    const other = await TestSocket.connect(s.url, alice.key);
    assert.equal((await other.sock.request({ type: "ping" })).type, "pong");
    await other.sock.close();
  });

  it("answers malformed, unknown and invalid messages with an error frame and keeps the socket open", async () => {
    const { sock } = await TestSocket.connect(s.url, alice.key);
    sock.send("{not json");
    assert.equal((await sock.next((f) => f.type === "error")).code, "STYX_BAD_JSON");
    assert.equal((await sock.request({ type: "dance" })).code, "STYX_VALIDATION");
    const extra = await sock.request({ type: "ping", extra: 1 });
    assert.equal(extra.code, "STYX_VALIDATION");
    assert.match(extra.message, /unknown field 'extra'/);
    const badEvent = await sock.request({ type: "event", golem_id: aliceGolem, event: { type: "styx:forged" } });
    assert.equal(badEvent.code, "STYX_VALIDATION", "golems may only relay golem:* channels");
    sock.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await sock.next((f) => f.code === "STYX_UNSUPPORTED_MEDIA_TYPE")).type, "error");
    assert.equal((await sock.request({ type: "ping" })).type, "pong");
    await sock.close();
  });

  it("refuses another user's golem with the 404 of tenancy (audited), and writes with a read-only key", async () => {
    const { sock } = await TestSocket.connect(s.url, alice.key);
    const before = (await s.styx.audit.list(0, 10_000)).filter((a) => a.action === "tenancy.denied").length;
    for (const type of ["event", "heartbeat", "steer", "clade_delta"] as const) {
      const body =
        type === "event"
          ? { event: { type: "golem:tick" } }
          : type === "steer"
            ? { intent: "stop" }
            : type === "clade_delta"
              ? { entries: [{ k: 1 }] }
              : {};
      const r = await sock.request({ type, golem_id: bobGolem, ...body });
      assert.equal(r.code, "STYX_NOT_FOUND", type);
    }
    const after = (await s.styx.audit.list(0, 10_000)).filter((a) => a.action === "tenancy.denied").length;
    assert.equal(after - before, 4);
    const resumed = await sock.request({ type: "resume", streams: { [`user:${bob.id}`]: { epoch: "x", seq: 0 } } });
    assert.deepEqual(resumed.streams[`user:${bob.id}`], { recovered: false, epoch: "", seq: 0, reason: "not_found" });
    await sock.close();

    const ro = await s.request("POST", `/v1/admin/users/${alice.id}/keys`, { token: s.adminToken, body: { name: "ro", scopes: ["read"] } });
    const reader = await TestSocket.connect(s.url, ro.json.key);
    const denied = await reader.sock.request({ type: "event", golem_id: aliceGolem, event: { type: "golem:tick" } });
    assert.equal(denied.code, "STYX_AUTH_FORBIDDEN");
    assert.equal((await reader.sock.request({ type: "subscribe", domains: ["defi"] })).type, "subscribed");
    await reader.sock.close();
  });

  it("relays a golem event with the envelope {stream, epoch, seq, ts, channel, payload} and acks it", async () => {
    const { sock, welcome } = await TestSocket.connect(s.url, alice.key);
    const ack = await sock.request({ type: "event", golem_id: aliceGolem, event: { type: "golem:tick", tick: 7, golem_id: "spoofed" } });
    assert.equal(ack.type, "ack");
    const frame = await sock.next((f) => f.channel === "golem:tick");
    assert.deepEqual(Object.keys(frame).sort(), ["channel", "epoch", "payload", "seq", "stream", "ts"]);
    assert.equal(frame.stream, `user:${alice.id}`);
    assert.equal(frame.epoch, welcome.streams[`user:${alice.id}`].epoch);
    assert.equal(frame.seq, ack.seq);
    assert.deepEqual(frame.payload, { tick: 7, golem_id: aliceGolem });
    await sock.close();
  });

  it("closes a socket that stops answering pings with 4009 after three misses", async () => {
    // The pinger visits sockets in slices over the interval, so the first ping's phase varies:
    // count the pings that went unanswered rather than timing the close.
    // TestSocket counts pings from its creation: one may come with the upgrade's answer.
    const sock = await TestSocket.open(s.url, { token: alice.key, autoPong: false });
    const { code } = await sock.closed;
    assert.equal(code, 4009);
    assert.equal(sock.pings, 3, `closed after ${sock.pings} unanswered pings, not three`);
  });

  it("closes the sockets of a revoked key at once with 4401, and only those", async () => {
    const k = await s.request("POST", `/v1/admin/users/${alice.id}/keys`, { token: s.adminToken, body: { name: "to-revoke" } });
    const revoked = await TestSocket.connect(s.url, k.json.key);
    const kept = await TestSocket.connect(s.url, alice.key);
    const t0 = performance.now();
    assert.equal((await s.request("DELETE", `/v1/admin/keys/${k.json.id}`, { token: s.adminToken })).status, 200);
    const { code, reason } = await revoked.sock.closed;
    assert.equal(code, 4401);
    assert.match(reason, /revoked/);
    assert.ok(performance.now() - t0 < 1000, "closed within a second of the revocation");
    assert.equal((await kept.sock.request({ type: "ping" })).type, "pong", "another key's socket stays open");
    await kept.sock.close();
  });

  it("closes a socket whose key expires, or is revoked behind the server's back, within a ping interval", async () => {
    // A store to write to behind the server's back: a data dir (micronode) or the cluster's schema.
    const p = await startTestServer({ persistent: true, env: { STYX_WS_PING_INTERVAL: "150ms" } });
    try {
      const u = await p.user();
      const expiring = await p.request("POST", `/v1/admin/users/${u.id}/keys`, {
        token: p.adminToken,
        body: { name: "short", expires_at: new Date(Date.now() + 600).toISOString() },
      });
      assert.equal(expiring.status, 201, expiring.text);
      const offline = await p.request("POST", `/v1/admin/users/${u.id}/keys`, { token: p.adminToken, body: { name: "offline" } });
      const a = await TestSocket.connect(p.url, expiring.json.key);
      const b = await TestSocket.connect(p.url, offline.json.key);
      const kept = await TestSocket.connect(p.url, u.key);
      // What `styx keys revoke` does beside a running server: a write to the store, no signal.
      await p.sql(`UPDATE api_keys SET revoked_at = ${Date.now()} WHERE id = '${offline.json.id}'`);
      const [ca, cb] = await Promise.all([a.sock.closed, b.sock.closed]);
      assert.deepEqual([ca.code, cb.code], [4401, 4401]);
      assert.match(ca.reason, /expired/);
      assert.match(cb.reason, /revoked/);
      assert.equal((await kept.sock.request({ type: "ping" })).type, "pong", "a usable key's socket stays open");
      await kept.sock.close();
    } finally {
      await p.close();
    }
  });

  it("tells every socket to reconnect with 1012 at shutdown", async () => {
    const other = await startTestServer();
    const u = await other.user();
    const { sock } = await TestSocket.connect(other.url, u.key);
    const closing = other.close();
    assert.equal((await sock.closed).code, 1012);
    await closing;
  });
});

describe("WS /v1/styx/ws: relayed events under the rate limit", () => {
  it("grants tokens in arrival order: the first events are acked in seq order, the rest refused with STYX_RATE_LIMITED", async () => {
    const s = await startTestServer({ env: { STYX_RATE_LIMIT: "1/s:12" } });
    try {
      const u = await s.user();
      const g = await s.golem(u.key);
      const { sock } = await TestSocket.connect(s.url, u.key);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sock.request({ type: "event", golem_id: g.id, event: { type: "golem:tick", i } })),
      );
      const acked = answers.filter((f) => f.type === "ack");
      const refused = answers.filter((f) => f.type === "error");
      assert.ok(acked.length >= 5 && acked.length <= 12, `${acked.length} of 20 acked with a burst of 12`);
      assert.equal(acked.length + refused.length, 20, "every event answered");
      assert.ok(
        refused.every((f) => f.code === "STYX_RATE_LIMITED"),
        `refusals: ${JSON.stringify(refused.map((f) => f.code))}`,
      );
      const firstRefused = answers.findIndex((f) => f.type === "error");
      assert.ok(
        answers.slice(firstRefused).every((f) => f.type === "error"),
        "no event after a refused one got a token (one more second would be needed)",
      );
      assert.deepEqual(
        acked.map((f) => f.seq),
        Array.from({ length: acked.length }, (_, i) => i + 1),
        "acked events numbered in the order sent",
      );
      await sock.close();
    } finally {
      await s.close();
    }
  });
});

// Found by the proof suite's fuzz (test/chaos/fuzz.test.ts).
describe("socket frames the fuzz found accepted or answered STYX_INTERNAL", () => {
  let s: TestServer;
  let key: string;
  let user: string;
  before(async () => {
    s = await startTestServer();
    const u = await s.user();
    key = u.key;
    user = u.id;
    await s.golem(key, { id: `${user}-g` });
  });
  after(() => s.close());

  it("refuses non-finite numbers: a heartbeat tick of 1e999 no longer unlocks 'elder' and breaks the fleet views", async () => {
    const { sock } = await TestSocket.connect(s.url, key);
    sock.send(`{"type":"heartbeat","golem_id":"${user}-g","tick":1e999,"id":"h1"}`);
    const r = await sock.next((f) => f.id === "h1");
    assert.equal(r.code, "STYX_VALIDATION", JSON.stringify(r));
    sock.send(`{"type":"heartbeat","golem_id":"${user}-g","nav":-1e999,"id":"h2"}`);
    assert.equal((await sock.next((f) => f.id === "h2")).code, "STYX_VALIDATION");
    const from = sock.frames.length;
    sock.send('{"type":"ping","id":1e999}');
    const e = await sock.next((f) => f.type === "error" || f.type === "pong", 5000, from);
    assert.equal(e.type, "error", "an id of Infinity is refused, not echoed as null");
    assert.equal(e.id, undefined);
    assert.equal((await s.request("GET", `/v1/styx/fleet/${user}`, { token: key })).status, 200);
    assert.equal((await s.request("GET", `/v1/styx/achievements/${user}-g`, { token: key })).json.achievements.length, 0);
    await sock.close();
  });

  it("bounds nav, so that a fleet's total stays finite (two navs of 1.7e308 made the aggregate answer 500)", async () => {
    await s.golem(key, { id: `${user}-g2` });
    const { sock } = await TestSocket.connect(s.url, key);
    for (const g of [`${user}-g`, `${user}-g2`]) {
      assert.equal((await sock.request({ type: "heartbeat", golem_id: g, nav: 1.7e308 })).code, "STYX_VALIDATION");
      assert.equal((await sock.request({ type: "heartbeat", golem_id: g, nav: 1e30 })).type, "ack");
    }
    const r = await s.request("GET", `/v1/styx/fleet/${user}/aggregate`, { token: key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.total_nav, 2e30);
    await sock.close();
  });

  it("refuses frames nested deeper than 64 levels with STYX_VALIDATION", async () => {
    const { sock } = await TestSocket.connect(s.url, key);
    const deep = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;
    for (const [id, frame] of [
      ["e1", `{"id":"e1","type":"event","golem_id":"${user}-g","event":{"type":"golem:deep","d":${deep}}}`],
      ["c1", `{"id":"c1","type":"clade_delta","golem_id":"${user}-g","entries":[{"d":${deep}}]}`],
    ]) {
      sock.send(frame as string);
      const r = await sock.next((f) => f.id === id);
      assert.equal(r.code, "STYX_VALIDATION", JSON.stringify(r).slice(0, 200));
    }
    assert.equal((await sock.request({ type: "ping" })).type, "pong");
    await sock.close();
  });
});
