import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { spawnServer } from "../../src/testing/spawn.js";

const ADMIN = "shutdown-test-admin-token";

/** Starts a POST whose body arrives in two halves; `finish` sends the rest. */
function slowPost(url: string, path: string, body: string) {
  const u = new URL(path, url);
  const half = Math.floor(body.length / 2);
  const req = request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: "POST",
    headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${ADMIN}` },
  });
  const res = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on("response", (r) => {
      let text = "";
      r.on("data", (d) => {
        text += d;
      });
      r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
    });
    req.on("error", reject);
  });
  req.write(body.slice(0, half));
  return { res, finish: () => req.end(body.slice(half)) };
}

describe("graceful shutdown", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-shutdown-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("completes in-flight requests after SIGTERM, refuses new ones, and exits 0 within 10 s", async () => {
    const server = await spawnServer(["--data-dir", dir], { env: { STYX_ADMIN_TOKEN: ADMIN, STYX_LOG_LEVEL: "info" } });
    const inflight = [0, 1, 2].map((i) => slowPost(server.url, "/v1/admin/users", JSON.stringify({ id: `drain-${i}`, tier: "steward" })));
    // The halves reach the server: it logs each request as it begins (its headers read). Log lines
    // rather than sleeps order these steps: on a loaded machine no fixed delay is long enough, and
    // a step that came too late failed the test, or left the drain waiting on bodies never sent.
    await server.waitForOutput(/("url":"\/v1\/admin\/users"[^\n]*"msg":"incoming request"[\s\S]*){3}/);
    const signalledAt = Date.now();
    server.proc.kill("SIGTERM");
    await server.waitForOutput(/shutting down/); // shutdown has begun while the bodies are incomplete
    const refused = await fetch(`${server.url}/v1/styx/health`).then(
      (r) => r.status,
      () => "connection refused",
    );
    assert.ok(refused === "connection refused" || refused === 503, `a new request got ${refused}`);
    for (const p of inflight) p.finish();
    const results = await Promise.all(inflight.map((p) => p.res));
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.equal(await server.exited, 0);
    const tookMs = Date.now() - signalledAt;
    assert.ok(tookMs < 10_000, `exit took ${tookMs} ms`);
    assert.match(server.output(), /shutting down/);
    // the drained writes are durable
    const again = await spawnServer(["--data-dir", dir], { env: { STYX_ADMIN_TOKEN: ADMIN } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${again.url}/v1/admin/users/drain-${i}/keys`, { headers: { authorization: `Bearer ${ADMIN}` } });
        assert.equal(r.status, 200);
      }
    } finally {
      again.proc.kill("SIGTERM");
      await again.exited;
    }
  });

  it("with STYX_SHUTDOWN_DRAIN, answers /readyz 503 (draining) but serves everything else, then stops", async () => {
    const server = await spawnServer(["--data-dir", dir], {
      env: { STYX_ADMIN_TOKEN: ADMIN, STYX_LOG_LEVEL: "info", STYX_SHUTDOWN_DRAIN: "1500ms" },
    });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const signalledAt = Date.now();
    server.proc.kill("SIGTERM");
    await server.waitForOutput(/draining: \/readyz answers 503/);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ready: boolean; reasons: string[] };
    assert.equal(body.ready, false);
    assert.equal(body.reasons[0], "draining");
    assert.equal((await fetch(`${server.url}/readyz?for=reads`)).status, 503, "a reads probe is taken out by a drain too");
    assert.equal((await fetch(`${server.url}/v1/styx/health`)).status, 200, "health is still served");
    const write = await fetch(`${server.url}/v1/admin/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "during-drain" }),
    });
    assert.equal(write.status, 201, "writes are still served while draining");
    assert.equal(await server.exited, 0);
    const tookMs = Date.now() - signalledAt;
    assert.ok(tookMs >= 1500, `stopped after ${tookMs} ms, before the drain window ended`);
    assert.match(server.output(), /draining: \/readyz answers 503/);
  });
});
