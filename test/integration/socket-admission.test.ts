import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * Socket admission (SPEC §12, issue 16 item 5): caps per user, key and address refused at the
 * upgrade with 429 STYX_QUOTA_EXCEEDED (and past the cap when a socket authenticates by
 * message), the client address of upgrades under STYX_TRUST_PROXY, and the HTTP server's
 * headers timeout and cap on connections still sending their headers.
 */

const CAPS = { sockets_per_user: 3, sockets_per_key: 2, sockets_per_ip: 4 };
const xff = (ip: string) => ({ "x-forwarded-for": ip });
let nextIp = 0;
/** A client address of its own (the servers trust the loopback proxy in front of them). */
const freshIp = () => `10.1.${Math.floor(++nextIp / 250)}.${nextIp % 250}`;

describe("socket caps per user, key and address", () => {
  let s: TestServer;
  const open: TestSocket[] = [];
  const connectAs = async (token: string | undefined, ip = freshIp()) => {
    const sock = await TestSocket.open(s.url, { ...(token ? { token } : {}), headers: xff(ip) });
    open.push(sock);
    if (token) await sock.next((f) => f.type === "welcome");
    return sock;
  };
  before(async () => {
    s = await startTestServer({
      env: {
        STYX_TRUST_PROXY: "1",
        // Users are created as observers (the identity service's default) and sockets without a
        // user count under the default tier (consumer): the same caps for both.
        STYX_QUOTAS: JSON.stringify({ observer: CAPS, consumer: CAPS }),
        STYX_WS_AUTH_TIMEOUT: "30s",
      },
    });
  });
  after(async () => {
    for (const sock of open) await sock.close();
    await s.close();
  });

  it("refuses a user's socket past sockets_per_user at the upgrade, while another user still connects", async () => {
    const a = await s.user();
    const k2 = await s.request("POST", `/v1/admin/users/${a.id}/keys`, { token: s.adminToken, body: { name: "second" } });
    await connectAs(a.key);
    await connectAs(a.key);
    await connectAs(k2.json.key);
    const refused = await TestSocket.refusal(s.url, { token: k2.json.key, headers: xff(freshIp()) });
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, "STYX_QUOTA_EXCEEDED");
    assert.deepEqual(refused.json.error.details, { quota: "sockets_per_user", limit: 3, used: 3 });
    const usage = await s.request("GET", "/v1/styx/usage", { token: a.key });
    assert.deepEqual(usage.json.quotas.sockets_per_user, { limit: 3, used: 3 }, "the usage view counts the user's open sockets");
    assert.equal(usage.json.quotas.sockets_per_key.used, null);
    const b = await s.user();
    await connectAs(b.key);
    await open.pop()?.close();
    for (let i = 0; i < 100; i++) {
      const byAdmin = await s.request("GET", `/v1/admin/users/${b.id}/usage`, { token: s.adminToken });
      if (byAdmin.json.quotas.sockets_per_user.used === 0) break;
      assert.ok(i < 99, "a closed socket stops counting");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it("refuses a key's socket past sockets_per_key", async () => {
    const u = await s.user();
    await connectAs(u.key);
    await connectAs(u.key);
    const refused = await TestSocket.refusal(s.url, { token: u.key, headers: xff(freshIp()) });
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json.error.details, { quota: "sockets_per_key", limit: 2, used: 2 });
  });

  it("refuses any socket of an address past sockets_per_ip, authenticated or not, and not another address's", async () => {
    const ip = freshIp();
    const u = await s.user();
    await connectAs(undefined, ip);
    await connectAs(undefined, ip);
    await connectAs(u.key, ip);
    await connectAs(undefined, ip);
    for (const token of [undefined, u.key]) {
      const refused = await TestSocket.refusal(s.url, { ...(token ? { token } : {}), headers: xff(ip) });
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.json.error.details, { quota: "sockets_per_ip", limit: 4, used: 4 });
    }
    await connectAs(undefined, freshIp());
  });

  it("closes a socket that authenticates by message past a cap: the error frame, then 4429", async () => {
    const u = await s.user();
    await connectAs(u.key);
    await connectAs(u.key);
    const late = await connectAs(undefined);
    late.send({ type: "auth", token: u.key, id: "a1" });
    const err = await late.next((f) => f.type === "error");
    assert.equal(err.code, "STYX_QUOTA_EXCEEDED");
    assert.equal(err.id, "a1");
    assert.deepEqual(err.details, { quota: "sockets_per_key", limit: 2, used: 2 });
    assert.equal((await late.closed).code, 4429);
  });

  it("counts a socket authenticated by message for its user and key", async () => {
    const u = await s.user();
    const first = await connectAs(undefined);
    first.send({ type: "auth", token: u.key });
    await first.next((f) => f.type === "welcome");
    await connectAs(u.key);
    const refused = await TestSocket.refusal(s.url, { token: u.key, headers: xff(freshIp()) });
    assert.deepEqual(refused.json.error.details, { quota: "sockets_per_key", limit: 2, used: 2 });
  });

  it("frees the place of an admitted upgrade whose handshake the WebSocket library refuses", async () => {
    const ip = freshIp();
    const { port } = new URL(s.url);
    for (let i = 0; i < 5; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = connect(Number(port), "127.0.0.1", () =>
          sock.write(
            `GET /v1/styx/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: ${ip}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n\r\n`,
          ),
        );
        let got = "";
        sock.setEncoding("utf8");
        sock.on("data", (d: string) => {
          got += d;
        });
        sock.once("close", () => resolve(got));
        sock.once("error", reject);
      });
      assert.match(answer, /^HTTP\/1\.1 400 /, `attempt ${i}`);
    }
    for (let i = 0; i < 4; i++) await until(async () => connectAs(undefined, ip).catch(() => undefined));
  });

  it("frees a place when a socket closes: a reconnect is admitted", async () => {
    const u = await s.user();
    const first = await connectAs(u.key);
    await connectAs(u.key);
    assert.equal((await TestSocket.refusal(s.url, { token: u.key, headers: xff(freshIp()) })).status, 429);
    await first.close();
    const again = await until(async () => {
      try {
        return await connectAs(u.key);
      } catch {
        return undefined;
      }
    });
    assert.ok(again.frames.some((f) => f.type === "welcome"));
  });
});

describe("the client address of upgrades (STYX_TRUST_PROXY)", () => {
  const upgrades = async (s: TestServer, n: number) => {
    const statuses: number[] = [];
    let refusal: Awaited<ReturnType<typeof TestSocket.refusal>> | undefined;
    for (let i = 0; i < n; i++) {
      const headers = xff(`192.0.2.${i + 1}`);
      try {
        const sock = await TestSocket.open(s.url, { headers });
        statuses.push(101);
        await sock.close();
      } catch {
        refusal = await TestSocket.refusal(s.url, { headers });
        statuses.push(refusal.status);
      }
    }
    return { statuses, refusal };
  };

  it("gives each forwarded client its own upgrade bucket behind a trusted proxy", async () => {
    const s = await startTestServer({ env: { STYX_TRUST_PROXY: "1", STYX_IP_RATE_LIMIT: "0.1/s:2" } });
    try {
      const { statuses } = await upgrades(s, 8);
      assert.deepEqual(statuses, Array(8).fill(101));
    } finally {
      await s.close();
    }
  });

  it("ignores X-Forwarded-For without trust: one bucket, refused as HTTP refuses (Retry-After, details.retry_after_ms)", async () => {
    const s = await startTestServer({ env: { STYX_TRUST_PROXY: "0", STYX_IP_RATE_LIMIT: "0.1/s:2" } });
    try {
      const { statuses, refusal } = await upgrades(s, 4);
      assert.deepEqual(statuses.slice(0, 2), [101, 101]);
      assert.equal(statuses[2], 429);
      assert.equal(refusal?.json.error.code, "STYX_RATE_LIMITED");
      const ms = refusal?.json.error.details.retry_after_ms;
      assert.ok(typeof ms === "number" && ms > 0 && ms <= 10_000, `retry_after_ms ${ms}`);
      assert.equal(refusal?.headers["retry-after"], String(Math.ceil(ms / 1000)));
    } finally {
      await s.close();
    }
  });
});

describe("connections that do not finish their headers", () => {
  let s: TestServer;
  const raw: Socket[] = [];
  const rawConnect = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const { port } = new URL(s.url);
      const sock = connect(Number(port), "127.0.0.1", () => resolve(sock));
      sock.once("error", reject);
      raw.push(sock);
    });
  before(async () => {
    s = await startTestServer({
      env: { STYX_HEADERS_TIMEOUT: "2s", STYX_REQUEST_TIMEOUT: "3s", STYX_UNFINISHED_CONNECTIONS_PER_IP: "3" },
    });
  });
  after(async () => {
    for (const sock of raw) sock.destroy();
    await s.close();
  });

  it("cuts a client trickling a header line every second at the headers timeout, with 408 STYX_REQUEST_TIMEOUT", async () => {
    const sock = await rawConnect();
    let answer = "";
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      answer += d;
    });
    const start = performance.now();
    sock.write("GET /v1/styx/health HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => sock.writable && sock.write(`X-Slow-${Math.floor(performance.now())}: 1\r\n`), 1000);
    await new Promise((resolve) => sock.once("close", resolve));
    clearInterval(trickle);
    const elapsed = performance.now() - start;
    // The documented bound: the timeout plus Node's check interval (1 s here), and a little scheduling slack.
    assert.ok(elapsed >= 1900 && elapsed < 2000 + 1000 + 750, `cut after ${Math.round(elapsed)} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /STYX_REQUEST_TIMEOUT/);
  });

  it("drops an address's connection past the cap on unfinished ones, and admits it again once one finishes", async () => {
    const pending = [await rawConnect(), await rawConnect(), await rawConnect()];
    for (const p of pending) p.write("GET /v1/styx/health HTTP/1.1\r\n");
    const extra = await rawConnect();
    const dropped = await new Promise<boolean>((resolve) => {
      extra.once("close", () => resolve(true));
      setTimeout(() => resolve(false), 1000);
    });
    assert.ok(dropped, "the fourth unfinished connection is closed at once");
    const first = pending[0] as Socket;
    let answer = "";
    first.setEncoding("utf8");
    first.on("data", (d: string) => {
      answer += d;
    });
    first.write("Host: x\r\n\r\n");
    await until(async () => answer.includes("\r\n\r\n") || undefined);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const res = await s.request("GET", "/v1/styx/health");
    assert.equal(res.status, 200, "a place is free again");
    for (const p of pending) p.destroy();
  });

  it("never cuts an open socket at the request timeout", async () => {
    const u = await s.user();
    const { sock } = await TestSocket.connect(s.url, u.key);
    try {
      await new Promise((r) => setTimeout(r, 4500));
      const pong = await sock.request({ type: "ping" });
      assert.equal(pong.type, "pong");
    } finally {
      await sock.close();
    }
  });
});

/** Polls `check` until it yields a value (5 s at most). */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
