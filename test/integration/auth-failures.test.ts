import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/** `styx_auth_failures_total` by "transport reason". */
async function counted(s: TestServer): Promise<Map<string, number>> {
  const text = (await s.request("GET", "/metrics")).text;
  return new Map(
    [...text.matchAll(/^styx_auth_failures_total\{transport="(\w+)",reason="(\w+)"\} (\d+)$/gm)].map((m) => [
      `${m[1]} ${m[2]}`,
      Number(m[3]),
    ]),
  );
}

describe("failed authentications: counted, and audited once per client address and minute", () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 5));
  const GUESSES = 300;
  // A data dir of the test's own: the records are read from the store after the server closed.
  const dir = mkdtempSync(join(tmpdir(), "styx-auth-failures-"));
  let s: TestServer;
  let closed = false;

  before(async () => {
    s = await startTestServer({ dataDir: dir, clock });
  });
  after(async () => {
    if (!closed) await s.close();
    rmSync(dir, { recursive: true, force: true });
    if (s.profile === "macro") {
      const { cluster } = s.styx.config;
      await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
    }
  });

  it("counts every kind on both transports, and a flood of admin-token guesses adds one audit record", async () => {
    const alice = await s.user("alice");
    const before = (await s.styx.audit.list(0, 1000)).length;
    for (let i = 0; i < GUESSES; i++)
      assert.equal((await s.request("GET", "/v1/admin/audit", { token: `guess-${i}` })).status, 401, "admin-token guess");
    assert.equal((await s.request("GET", "/v1/styx/golems/g1", { token: "styx_unknown" })).status, 401);
    assert.equal((await s.request("GET", "/v1/styx/golems/g1")).status, 401);
    assert.equal((await s.request("GET", "/v1/admin/audit", { token: alice.key })).status, 403, "a user key on an admin route");
    const wallet = `0x${"ab".repeat(20)}`;
    const challenge = await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: wallet } });
    assert.equal(challenge.status, 201, challenge.text);
    const signIn = await s.request("POST", "/v1/auth/verify", {
      body: { message: challenge.json.message, signature: `0x${"1b".repeat(65)}` },
    });
    assert.equal(signIn.status, 401, signIn.text);
    const outdated = await s.request("POST", "/v1/auth/verify", {
      body: { wallet_address: wallet, nonce: challenge.json.nonce, signature: `0x${"1b".repeat(65)}` },
    });
    assert.equal(outdated.json.error.code, "STYX_AUTH_SIWE_REQUIRED", "a sign-in in the retired form is a failed one too");
    const sock = await TestSocket.open(s.url, { token: "styx_unknown_socket" });
    assert.equal((await sock.closed).code, 4401);
    // Refusals that are no failed authentication: a scope the key lacks is not counted.
    const reader = await s.request("POST", "/v1/admin/users/alice/keys", { token: s.adminToken, body: { name: "r", scopes: ["read"] } });
    assert.equal((await s.request("POST", "/v1/styx/golems", { token: reader.json.key, body: {} })).status, 403);

    const n = await counted(s);
    assert.equal(n.get("http admin_token"), GUESSES);
    assert.equal(n.get("http invalid"), 1);
    assert.equal(n.get("http missing"), 1);
    assert.equal(n.get("http not_admin"), 1);
    assert.equal(n.get("http wallet"), 2);
    assert.equal(n.get("ws invalid"), 1);
    assert.equal(
      [...n.values()].reduce((a, b) => a + b, 0),
      GUESSES + 6,
      "nothing else counted",
    );
    assert.equal((await s.styx.audit.list(before, 1000)).filter((r) => r.action === "auth.failed").length, 0, "the minute is not over");

    clock.advance(60_000);
    assert.equal((await s.request("GET", "/v1/styx/golems/g1", { token: "styx_unknown" })).status, 401);
    await s.close();
    closed = true;
    const rows = (await s.sql("SELECT ip, details FROM audit_log WHERE action = 'auth.failed' ORDER BY seq")) as {
      ip: string;
      details: string;
    }[];
    const ip = rows[0]?.ip as string;
    assert.match(ip, /127\.0\.0\.1/);
    assert.deepEqual(
      rows.map((r) => ({ ip: r.ip, ...JSON.parse(r.details) })),
      [
        {
          ip,
          minute: "2026-06-01T12:00:00.000Z",
          count: GUESSES + 6,
          reasons: { missing: 1, invalid: 2, admin_token: GUESSES, not_admin: 1, wallet: 2 },
          transports: { http: GUESSES + 5, ws: 1 },
        },
        { ip, minute: "2026-06-01T12:01:00.000Z", count: 1, reasons: { invalid: 1 }, transports: { http: 1 } },
      ],
      "one record per address and minute, the last written at shutdown",
    );
    const verify = await runCliAsync(["audit", "verify"], { env: storeEnv(s.styx.config) });
    assert.equal(verify.code, 0, verify.stderr);
  });
});
