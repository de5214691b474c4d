import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawnServer } from "../../src/testing/spawn.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const QUEUE_BYTES = 256 * 1024;
/** Events per phase: ~12 MiB to each socket. */
const PHASE = 1500;
const PAD = "x".repeat(8192);

/** Resident memory of a process, MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

// The healthy subscribers' latency beside a paused reader (against the same subscribers alone) is
// measured by bench/slow-consumer.ts; this test holds what must be true whatever the machine's speed.
describe("slow consumers", () => {
  it("closes a paused reader with 4008 while the others get every event in order, with every queue bounded", {
    timeout: 60_000,
  }, async () => {
    // The server runs in its own process so that its memory is measured apart from the clients'.
    const admin = "slow-consumer-admin-token-0123456789";
    const dataDir = mkdtempSync(join(tmpdir(), "styx-slow-"));
    const server = await spawnServer([], {
      env: {
        STYX_DATA_DIR: dataDir,
        STYX_ADMIN_TOKEN: admin,
        STYX_RATE_LIMIT: "1000000/s:1000000",
        STYX_IP_RATE_LIMIT: "1000000/s:1000000",
        STYX_WS_SEND_QUEUE: `${QUEUE_BYTES}b`,
      },
    });
    const pid = server.proc.pid as number;
    const http = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(server.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, text: await res.text() };
    };
    const metric = async (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, "m").exec((await http("GET", "/metrics", admin)).text)?.[1] ?? 0);
    try {
      await http("POST", "/v1/admin/users", admin, { id: "slow" });
      const key = JSON.parse((await http("POST", "/v1/admin/users/slow/keys", admin, { name: "k" })).text).key as string;
      const golemId = JSON.parse((await http("POST", "/v1/styx/golems", key, {})).text).id as string;
      const stream = "user:slow";
      const golem = (await TestSocket.connect(server.url, key)).sock;
      const healthy = await Promise.all([1, 2, 3].map(() => TestSocket.connect(server.url, key).then((c) => c.sock)));

      /** Sends PHASE events (~8 KiB each, 10 every 10 ms) and waits until every healthy socket has them. */
      let sent = 0;
      const phase = async () => {
        const rssBefore = rssMiB(pid);
        let rssPeak = rssBefore;
        let queuePeak = 0;
        for (let i = 0; i < PHASE; i += 10) {
          for (let j = 0; j < 10; j++) {
            golem.send({ type: "event", golem_id: golemId, event: { type: "golem:load", n: ++sent, pad: PAD } });
          }
          await new Promise((r) => setTimeout(r, 10));
          if (i % 50 === 0) {
            rssPeak = Math.max(rssPeak, rssMiB(pid));
            queuePeak = Math.max(queuePeak, await metric("styx_ws_send_queue_max_bytes"));
          }
        }
        await Promise.all(healthy.map((h) => h.until(() => h.events(stream).length >= sent || undefined, 30_000)));
        rssPeak = Math.max(rssPeak, rssMiB(pid));
        return { grew: rssPeak - rssBefore, queuePeak };
      };

      await phase(); // warm-up: JIT, SQLite cache, socket buffers
      const alone = await phase();
      const paused = (await TestSocket.connect(server.url, key)).sock;
      const firstMissed = sent + 1;
      // Stop reading at the TCP level: the kernel buffers fill, then the server-side queue grows.
      (paused.ws as unknown as { _socket: Socket })._socket.pause();
      const withSlow = await phase();
      console.log(
        `# slow consumer: deepest queue ${withSlow.queuePeak} B; server RSS +${alone.grew.toFixed(1)} / +${withSlow.grew.toFixed(1)} MiB`,
      );

      assert.equal(await metric("styx_ws_connections"), 4, "the paused reader was dropped; the golem and the others stay");
      assert.match((await http("GET", "/metrics", admin)).text, /styx_ws_dropped_total\{reason="slow_consumer"\} 1\b/);
      (paused.ws as unknown as { _socket: Socket })._socket.resume();
      assert.equal((await paused.closed).code, 4008, "told why, once it reads again");
      const got = paused.events(stream).map((e) => e.payload.n);
      assert.ok(got.length < PHASE, "it never got the events after it fell behind");
      assert.deepEqual(
        got,
        Array.from({ length: got.length }, (_, i) => firstMissed + i),
        "what it got before it was dropped is the phase's first events, in order, without a gap",
      );

      for (const h of healthy) {
        assert.equal(h.ws.readyState, 1);
        assert.deepEqual(
          h.events(stream).map((e) => e.payload.n),
          Array.from({ length: sent }, (_, i) => i + 1),
          "every event, in order",
        );
      }
      assert.ok(withSlow.queuePeak <= QUEUE_BYTES, `deepest send queue ${withSlow.queuePeak} bytes (bound ${QUEUE_BYTES})`);
      // An unbounded queue would have kept the paused reader's share: 12 MiB of frames.
      assert.ok(withSlow.grew < alone.grew + 4, `server RSS grew ${withSlow.grew.toFixed(1)} MiB vs ${alone.grew.toFixed(1)} MiB alone`);
      await Promise.all([golem, ...healthy].map((h) => h.close()));
    } finally {
      server.proc.kill("SIGTERM");
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
