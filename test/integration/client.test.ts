import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  CircuitOpenError,
  type EventFrame,
  OfflineQueueFullError,
  type RecoveryReport,
  StyxClient,
  StyxUnreachableError,
} from "@styx/client";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startGolem } from "../../examples/golem.js";
import { watchSurface } from "../../examples/surface.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const fast = { backoff: { baseMs: 20, maxMs: 200 }, flushIntervalMs: 50 } as const;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A server on a fixed port that a test can stop and start again: a micronode on its data dir,
 * or a macronode gateway on its cluster (the test server ties the cluster to the data dir).
 */
async function restartable() {
  const dataDir = mkdtempSync(join(tmpdir(), "styx-client-"));
  const env = { STYX_PORT: String(await freePort()) };
  let server: TestServer | undefined = await startTestServer({ dataDir, env });
  const { profile, cluster } = server.styx.config;
  const self = {
    get s(): TestServer {
      assert.ok(server, "the server is running");
      return server;
    },
    async stop() {
      await server?.close();
      server = undefined;
    },
    async start() {
      server = await startTestServer({ dataDir, env });
    },
    async close() {
      await server?.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (profile === "macro") await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
    },
  };
  after(() => self.close());
  return self;
}

const waitFor = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("@styx/client against a real server", () => {
  it("the example golem survives a restart: reconnects, resumes with recovered: true, flushes queued writes once", async () => {
    const srv = await restartable();
    const url = srv.s.url;
    const { id: userId, key } = await srv.s.user();
    const seen: EventFrame[] = [];
    const surface = await watchSurface(
      { url, key, ...fast },
      (e) => seen.push(e),
      () => {},
    );
    const golem = await startGolem({ url, key, golemId: "g-restart", log: () => {}, ...fast });
    const recoveries: RecoveryReport[] = [];
    golem.styx.socket.on("recovered", (r) => recoveries.push(r));
    await golem.tick(1);
    await waitFor("the surface to see tick 1", () => seen.some((e) => e.channel === "golem:tick"));

    await srv.stop();
    const queued = [0, 1, 2, 3, 4].map((i) => golem.learn(`written while Styx was down #${i}`));
    await waitFor("five queued writes", () => golem.styx.queuedWrites === 5);
    await assert.rejects(golem.tick(2), StyxUnreachableError, "socket messages fail fast while disconnected");

    await srv.start();
    const written = await Promise.all(queued);
    assert.equal(new Set(written.map((w) => w.id)).size, 5, "each queued write became its own entry");
    await waitFor("the golem's resume", () => recoveries.some((r) => r.stream === `user:${userId}`));
    assert.deepEqual(
      recoveries.map((r) => [r.stream, r.recovered]),
      [[`user:${userId}`, true]],
      "the user stream resumed with recovered: true",
    );
    await golem.tick(3);
    await waitFor("the surface to see tick 3 after its own reconnect", () => seen.some((e) => (e.payload as { tick?: number }).tick === 3));

    // The same idempotency key twice stores one entry, as a retried write after a lost answer would.
    const again = { golem_id: "g-restart", layer: "vault", category: "insight", content: "retried", idempotency_key: "k-1" } as const;
    const first = await golem.styx.writeEntry(again);
    assert.equal((await golem.styx.writeEntry(again)).id, first.id, "a retried write returns the first entry");
    const [{ n }] = await srv.s.sql("SELECT COUNT(*) AS n FROM entries WHERE golem_id = 'g-restart'");
    assert.equal(Number(n), 2 + 5 + 1, "two before the stop, five queued, one idempotent: nothing lost or duplicated");
    const ticks = seen.filter((e) => e.channel === "golem:tick").map((e) => (e.payload as { tick: number }).tick);
    assert.deepEqual(ticks, [1, 3], "the surface saw each tick once, in order");
    golem.close();
    surface.close();
  });

  it("the circuit breaker opens after 3 failures against a stopped server and half-opens after its interval", async () => {
    const srv = await restartable();
    const client = new StyxClient({ url: srv.s.url, breaker: { openMs: 150 } });
    await srv.stop();
    for (let i = 0; i < 3; i++) await assert.rejects(client.health(), StyxUnreachableError, `failure ${i + 1} reaches the network`);
    assert.equal(client.breaker.state, "open", "three failures open the circuit");
    await assert.rejects(client.health(), CircuitOpenError, "an open circuit refuses without calling");
    await new Promise((r) => setTimeout(r, 160));
    assert.equal(client.breaker.state, "half_open", "after the interval one trial is allowed");
    await assert.rejects(client.health(), StyxUnreachableError, "the trial reaches the still-stopped server");
    assert.equal(client.breaker.state, "open", "a failed trial opens the circuit again");
    await srv.start();
    await new Promise((r) => setTimeout(r, 160));
    assert.equal((await client.health()).status, "ok", "the trial after the restart succeeds");
    assert.equal(client.breaker.state, "closed", "a successful trial closes the circuit");
    client.close();
  });

  it("the offline queue holds 1,000 writes while stopped, refuses the 1,001st, and flushes them in order", async () => {
    const srv = await restartable();
    const { key } = await srv.s.user();
    const golemId = (await srv.s.golem(key)).id;
    const client = new StyxClient({ url: srv.s.url, token: key, breaker: { openMs: 100 }, flushIntervalMs: 50 });
    await srv.stop();
    const writes = Array.from({ length: 1000 }, (_, i) =>
      client.writeEntry({ golem_id: golemId, layer: "vault", category: "insight", content: `q-${String(i).padStart(4, "0")}` }),
    );
    await waitFor("1,000 queued writes", () => client.queuedWrites === 1000);
    await assert.rejects(
      client.writeEntry({ golem_id: golemId, layer: "vault", category: "insight", content: "one too many" }),
      OfflineQueueFullError,
      "the 1,001st write is refused",
    );
    await srv.start();
    await Promise.all(writes);
    assert.equal(client.queuedWrites, 0, "the queue is empty after the flush");
    const rows = await srv.s.sql(`SELECT content FROM entries WHERE golem_id = '${golemId}' ORDER BY seq`);
    assert.deepEqual(
      rows.map((r) => r.content),
      Array.from({ length: 1000 }, (_, i) => `q-${String(i).padStart(4, "0")}`),
      "every queued write landed once, in order",
    );
    client.close();
  });

  it("signs in with a wallet in one call (EIP-4361), lists the session and ends it", async () => {
    const s = await startTestServer();
    try {
      const wallet = privateKeyToAccount(generatePrivateKey());
      await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "client-wallet", wallet_address: wallet.address } });
      const anonymous = new StyxClient({ url: s.url });
      const session = await anonymous.signIn(wallet.address, (message) => wallet.signMessage({ message }));
      assert.equal(session.user_id, "client-wallet");
      const signedIn = new StyxClient({ url: s.url, token: session.token });
      const { sessions } = await signedIn.sessions();
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0]?.current, true);
      assert.equal((await signedIn.endSession(sessions[0]?.id as string)).id, sessions[0]?.id);
      await assert.rejects(signedIn.me(), (err: unknown) => (err as { code?: string }).code === "STYX_AUTH_INVALID_KEY");
      const td = await anonymous.bloodstainTypedData();
      assert.equal(td.domain.chainId, s.styx.config.chainId);
      anonymous.close();
      signedIn.close();
    } finally {
      await s.close();
    }
  });
});
