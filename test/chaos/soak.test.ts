import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { call, createOwner, Inspector, metricValue, spawnQuietServer, WireSocket } from "../../src/testing/chaos-kit.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import { DEFAULT_BOUNDS, judgePlateau, type MemorySample } from "../../src/testing/memory-plateau.js";
import type { ServerProcess } from "../../src/testing/spawn.js";

/**
 * Proof: a bounded soak with churning sockets — the server's memory plateaus, and the test fails
 * on steady growth.
 *
 * A real micronode runs for STYX_SOAK_SECONDS (default 600; CI runs the default) under a steady
 * mixed load: churners open sockets one after another (key in the header, in ?token= or in a
 * first auth message), subscribe to domains and the public stream, resume their user stream
 * from a recent seq, relay acked golem events, beat, ping, unsubscribe, and end with a clean
 * close, an abrupt termination, or a termination with events still in flight; now and then a
 * socket never authenticates and is dropped by the auth timeout, or sends a malformed frame.
 * Long-lived followers watch every domain. HTTP workers write entries, query, deposit and
 * sense pheromones, read fleets and snapshots, and steer. Every SAMPLE_MS the test forces a full
 * garbage collection in the server through its inspector (loopback, started with --inspect) and
 * reads its RSS and V8 heap-used: after a full GC heap-used is the live set, which a leak raises;
 * heap-used as /metrics reports it is mostly garbage V8 has not yet collected (its major GCs can
 * be minutes apart on a machine with memory to spare, a sawtooth longer than a short soak).
 * src/testing/memory-plateau.ts judges the series (warm-up ignored, live-set slope, second vs
 * last quarter, RSS).
 *
 * Why memory should plateau: everything the load creates in the server's memory is bounded by
 * a fixed cast — 6 users, 12 golems, 8 domains, one client IP — so per-stream seqs, the hot ring
 * (last 1,000 events per stream), presence, rate-limit buckets and metric label sets stop
 * growing once every stream and golem has been seen; a socket's state goes with the socket.
 * What does grow is on disk: the event history (SQLite, archived to cold blobs) and the audit
 * log. Entry writes reuse 200 idempotency keys per golem, so the vault stops growing, and
 * pheromone deposits hit a fixed set of cells (reinforced, not added). Before the clock starts,
 * `prefill` writes every idempotency key and fills every stream's hot ring to its bound: at the
 * load's rate a domain's ring would take minutes to fill, legitimate growth the criterion would
 * read as a leak. The first 20 % of the run (JIT, SQLite's page cache) is not judged. A server
 * whose memory keeps rising under that load holds on to something per connection, message or
 * request: a leak.
 */

const SECONDS = Number(process.env.STYX_SOAK_SECONDS ?? 600);
const ADMIN = "chaos-soak-admin-token-0123456789abcdef";
const USERS = 6;
const GOLEMS_PER_USER = 2;
const DOMAINS = ["defi", "perps", "lending", "dex", "nft", "bridges", "oracles", "mev"];
const CHURNERS = 8;
const FOLLOWERS = 12;
const HTTP_WORKERS = 3;
const IDEMPOTENCY_KEYS = 200;
/** One memory reading every SAMPLE_MS (200 on the default run), each after a forced full GC. */
const SAMPLE_MS = Math.max(1000, Math.min(3000, (SECONDS * 1000) / 200));

interface Owner {
  readonly id: string;
  readonly key: string;
  readonly golems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const int = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const some = <T>(xs: readonly T[], n: number): T[] => [...xs].sort(() => Math.random() - 0.5).slice(0, n);

/** What the load did, and what went wrong (bounded lists). */
class Tally {
  opened = 0;
  churned = 0;
  cleanCloses = 0;
  terminations = 0;
  abandonedInFlight = 0;
  authTimeouts = 0;
  eventsSent = 0;
  eventsAcked = 0;
  framesToFollowers = 0;
  http = 0;
  /** Failures that are not the server's expected answers: connection errors, 5xx, unexpected frames. */
  failures = 0;
  readonly examples: string[] = [];

  fail(what: string): void {
    this.failures++;
    if (this.examples.length < 10) this.examples.push(what);
  }
}

describe("soak: sockets churning for a bounded time", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "styx-chaos-soak-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`keeps the server's memory level over ${SECONDS} s of churn`, { timeout: (SECONDS + 240) * 1000 }, async () => {
    const server = await spawnQuietServer(
      {
        STYX_DATA_DIR: dataDir,
        STYX_ADMIN_TOKEN: ADMIN,
        STYX_RATE_LIMIT: "1000000/s:1000000",
        STYX_IP_RATE_LIMIT: "1000000/s:1000000",
        STYX_WS_AUTH_TIMEOUT: "2s",
      },
      { inspect: true },
    );
    const inspector = await Inspector.attach(server.inspectorUrl as string);
    const tally = new Tally();
    try {
      const owners: Owner[] = [];
      for (let u = 0; u < USERS; u++) {
        const { key, golemId } = await createOwner(server.url, ADMIN, `soak${u}`);
        const golems = [golemId];
        for (let g = 1; g < GOLEMS_PER_USER; g++) golems.push((await call(server.url, "POST", "/v1/styx/golems", key, {})).json.id);
        owners.push({ id: `soak${u}`, key, golems });
      }

      await prefill(server, owners);

      const followers = await Promise.all(
        Array.from({ length: FOLLOWERS }, async (_, i) => {
          const { sock } = await WireSocket.connect(server.url, (owners[i % USERS] as Owner).key);
          sock.onFrame = (f) => {
            if (f.seq !== undefined) tally.framesToFollowers++;
          };
          const r = await sock.request({ type: "subscribe", domains: DOMAINS, public: true });
          assert.equal(r.type, "subscribed", JSON.stringify(r));
          return sock;
        }),
      );

      /** Live set (heap-used after a full GC) and RSS. */
      const samples: MemorySample[] = [];
      /** Heap-used before the forced GC: what /metrics would show. */
      const rawHeap: number[] = [];
      let lastUsage: { external: number; arrayBuffers: number } | undefined;
      let stopping = false;
      const t0 = performance.now();
      const elapsed = () => (performance.now() - t0) / 1000;
      const sampler = (async () => {
        while (!stopping) {
          const at = elapsed();
          try {
            rawHeap.push((await inspector.memoryUsage()).heapUsed);
            await inspector.collectGarbage();
            const m = await inspector.memoryUsage();
            lastUsage = m;
            samples.push({ t: at, rss: m.rss, heapUsed: m.heapUsed });
          } catch (err) {
            tally.fail(`memory reading: ${(err as Error).message}`);
          }
          await sleep(SAMPLE_MS - ((performance.now() - t0) % SAMPLE_MS));
        }
      })();

      const work = [
        ...Array.from({ length: CHURNERS }, async () => {
          while (!stopping) {
            await churnOnce(server, owners, tally);
            await sleep(int(0, 60));
          }
        }),
        ...Array.from({ length: HTTP_WORKERS }, async () => {
          while (!stopping) {
            await httpOnce(server, owners, tally);
            await sleep(int(2, 15));
          }
        }),
      ];

      let lastLog = 0;
      while (elapsed() < SECONDS) {
        await sleep(1000);
        if (elapsed() - lastLog >= 60) {
          lastLog = elapsed();
          const s = samples.at(-1);
          console.log(
            `# soak ${Math.round(elapsed())} s: ${tally.opened} sockets, ${tally.eventsAcked} events acked, ${tally.http} HTTP, ` +
              `${tally.failures} failures; RSS ${mb(s?.rss)} MB (${procMemory(server.proc.pid as number)}), live heap ${mb(s?.heapUsed)} MB, ` +
              `external ${mb(lastUsage?.external)} MB (array buffers ${mb(lastUsage?.arrayBuffers)} MB)`,
          );
        }
        assert.equal(server.proc.exitCode, null, `the server died:\n${server.output()}`);
      }
      stopping = true;
      await Promise.all([...work, sampler]);
      const duration = elapsed();

      // Every churned socket is gone from the server: only the followers remain.
      let connections: number | undefined;
      for (let i = 0; i < 100; i++) {
        connections = metricValue((await call(server.url, "GET", "/metrics", undefined)).text, "styx_ws_connections");
        if (connections === FOLLOWERS) break;
        await sleep(100);
      }
      assert.equal(connections, FOLLOWERS, "the server holds no socket of the churn once it ended");
      for (const f of followers) assert.ok(f.open, "the long-lived followers stayed connected through the soak");
      await Promise.all(followers.map((f) => f.close()));

      const verdict = judgePlateau(samples, duration);
      const first = samples.find((s) => s.t >= duration * DEFAULT_BOUNDS.warmup);
      const last = samples.at(-1);
      console.log(
        `# soak memory (every ${SAMPLE_MS} ms, ${samples.length} readings, each after a full GC; heap before it ` +
          `${mb(Math.min(...rawHeap))}-${mb(Math.max(...rawHeap))} MB): live-set window minima after warm-up ` +
          verdict.troughs.map(([t, h]) => `${Math.round(t)}s:${h.toFixed(1)}`).join(" "),
      );
      console.log(
        `# soak load: ${JSON.stringify({ ...tally, examples: undefined })}; failures e.g. ${JSON.stringify(tally.examples.slice(0, 5))}`,
      );
      reportFigures("soak (sockets churning)", {
        "duration s": Math.round(duration),
        "sockets opened": tally.opened,
        "sockets churned": tally.churned,
        "events sent": tally.eventsSent,
        "events acked": tally.eventsAcked,
        "HTTP requests": tally.http,
        "RSS start MB": Number(mb(first?.rss)),
        "RSS end MB": Number(mb(last?.rss)),
        "heap (live) start MB": Number(mb(first?.heapUsed)),
        "heap (live) end MB": Number(mb(last?.heapUsed)),
        "RSS MB 2nd→last quarter": `${verdict.rssQ2Mb.toFixed(1)}→${verdict.rssQ4Mb.toFixed(1)}`,
        "live heap MB 2nd→last quarter": `${verdict.heapQ2Mb.toFixed(1)}→${verdict.heapQ4Mb.toFixed(1)}`,
        "live heap slope MB/min": Number(verdict.heapSlopeMbPerMin.toFixed(3)),
        "late RSS slope MB/min": Number.isNaN(verdict.rssSlopeMbPerMin)
          ? "not judged (short run)"
          : Number(verdict.rssSlopeMbPerMin.toFixed(3)),
      });

      assert.ok(verdict.ok, `memory did not plateau:\n${verdict.failures.join("\n")}`);
      const requests = tally.opened + tally.eventsSent + tally.http;
      assert.ok(
        tally.failures <= Math.max(5, requests / 1000),
        `${tally.failures} failures in ${requests} operations, e.g. ${JSON.stringify(tally.examples)}`,
      );
      assert.ok(tally.opened >= SECONDS * 5, `the churn kept up: ${tally.opened} sockets in ${Math.round(duration)} s`);
      assert.ok(tally.framesToFollowers > 0, "the followers received the domain traffic");
    } finally {
      inspector.close();
      server.proc.kill("SIGTERM");
      const code = await Promise.race([server.exited, sleep(20_000).then(() => "timeout")]);
      if (code === "timeout") server.proc.kill("SIGKILL");
    }
  });
});

function mb(bytes: number | undefined): string {
  return bytes === undefined ? "?" : (bytes / (1024 * 1024)).toFixed(1);
}

/** The resident set of a process split as Linux counts it (anonymous, file-backed, shared), MB. */
function procMemory(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
    return `anon ${kb("RssAnon").toFixed(1)}, file ${kb("RssFile").toFixed(1)}, shmem ${kb("RssShmem").toFixed(1)}`;
  } catch {
    return "no /proc";
  }
}

/**
 * Before the clock starts, fills what the load fills up to a bound: the hot ring of every stream
 * the load writes to (1,000 events each: HOT_FILL deposits on every domain stream, HOT_FILL
 * events on every user stream) and every idempotency key. At the load's own rate a domain's
 * ring would take minutes to fill, which a soak would read as growth.
 */
async function prefill(server: ServerProcess, owners: readonly Owner[]): Promise<void> {
  const HOT_FILL = 1100;
  const jobs: (() => Promise<void>)[] = [];
  const ok = (what: string, r: { status: number; text: string }) =>
    assert.ok(r.status < 300, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  for (const domain of DOMAINS) {
    for (let i = 0; i < HOT_FILL; i++) {
      const owner = owners[i % owners.length] as Owner;
      jobs.push(async () =>
        ok(
          "prefill deposit",
          await call(server.url, "POST", "/v1/styx/pheromone/deposit", owner.key, {
            golem_id: owner.golems[i % GOLEMS_PER_USER],
            layer: "threat",
            class: "squeeze",
            intensity: 0.5,
            domain,
            regime: "calm",
          }),
        ),
      );
    }
  }
  for (const owner of owners) {
    for (const golem of owner.golems) {
      for (let k = 0; k < IDEMPOTENCY_KEYS; k++)
        jobs.push(async () => ok("prefill entry", await call(server.url, "POST", "/v1/styx/entries", owner.key, entryBody(golem, k))));
    }
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
    }),
  );
  await Promise.all(
    owners.map(async (owner) => {
      const { sock } = await WireSocket.connect(server.url, owner.key);
      for (let i = 0; i < HOT_FILL; i += 100) {
        const acks = await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            sock.request({ type: "event", golem_id: owner.golems[0], event: { type: "golem:tick", tick: i + j } }),
          ),
        );
        for (const a of acks) assert.equal(a.type, "ack", JSON.stringify(a));
      }
      await sock.close();
    }),
  );
}

/** The entry written under idempotency key `k` of a golem (always the same body for the same key). */
function entryBody(golem: string, k: number): Record<string, unknown> {
  return {
    golem_id: golem,
    layer: k % 3 === 0 ? "clade" : "vault",
    category: "insight",
    confidence: 0.7,
    domain: DOMAINS[k % DOMAINS.length],
    content: `soak note ${k} on ${DOMAINS[k % DOMAINS.length]}: liquidity moves before the funding rate`,
    idempotency_key: `soak-${k}`,
  };
}

/** One socket's life: connect, a random mix of what clients do, then a clean or an abrupt end. */
async function churnOnce(server: ServerProcess, owners: readonly Owner[], tally: Tally): Promise<void> {
  const owner = pick(owners);
  const roll = Math.random();
  if (roll < 0.02) {
    // Never authenticates: the server drops it at its auth timeout (2 s here). Not awaited.
    const anon = WireSocket.anonymous(server.url);
    tally.opened++;
    void anon.closed.then((code) => {
      tally.churned++;
      if (code === 4401) tally.authTimeouts++;
      else tally.fail(`an unauthenticated socket closed with ${code}, not 4401`);
    });
    return;
  }
  const via = roll < 0.75 ? "header" : roll < 0.88 ? "query" : "message";
  let sock: WireSocket;
  let welcome: { streams: Record<string, { epoch: string; seq: number }> };
  try {
    ({ sock, welcome } = await WireSocket.connect(server.url, owner.key, { via }));
  } catch (err) {
    tally.fail(`connect (${via}): ${(err as Error).message}`);
    return;
  }
  tally.opened++;
  const stream = `user:${owner.id}`;
  sock.onFrame = () => {};
  const expect = async (msg: Record<string, unknown>, type: string) => {
    const f = await sock.request(msg);
    if (f.type !== type) tally.fail(`${String(msg.type)} answered ${JSON.stringify(f).slice(0, 200)}`);
  };
  const end = Math.random();
  try {
    if (Math.random() < 0.6)
      await expect({ type: "subscribe", domains: some(DOMAINS, int(1, 3)), public: Math.random() < 0.5 }, "subscribed");
    if (Math.random() < 0.4) {
      const at = welcome.streams[stream] as { epoch: string; seq: number };
      await expect({ type: "resume", streams: { [stream]: { epoch: at.epoch, seq: Math.max(0, at.seq - int(0, 200)) } } }, "resumed");
    }
    if (Math.random() < 0.05) {
      sock.ws.send("{not json");
      await expect({ type: "ping" }, "pong");
    }
    const n = int(2, 20);
    const golem = pick(owner.golems);
    const acks = Array.from({ length: n }, (_, i) =>
      sock.request({ type: "event", golem_id: golem, event: { type: "golem:tick", tick: i, mood: "steady" } }),
    );
    tally.eventsSent += n;
    if (end < 0.1) {
      // Abrupt end with events in flight: whatever the server does with them, the socket is gone.
      for (const a of acks) a.catch(() => {});
      tally.abandonedInFlight++;
      tally.terminations++;
      tally.churned++;
      await sock.terminate();
      return;
    }
    for (const f of await Promise.all(acks)) {
      if (f.type === "ack") tally.eventsAcked++;
      else tally.fail(`event answered ${JSON.stringify(f).slice(0, 200)}`);
    }
    if (Math.random() < 0.5) {
      await expect(
        { type: "heartbeat", golem_id: golem, phase: "active", vitality: Math.random(), tick: int(0, 1e6), domains: some(DOMAINS, 2) },
        "ack",
      );
    }
    if (Math.random() < 0.3) await expect({ type: "unsubscribe", domains: some(DOMAINS, 1) }, "subscribed");
    await sleep(int(0, 250));
    await expect({ type: "ping" }, "pong");
  } catch (err) {
    tally.fail(`socket: ${(err as Error).message}`);
  }
  tally.churned++;
  if (end < 0.55) {
    tally.terminations++;
    await sock.terminate();
  } else {
    tally.cleanCloses++;
    await sock.close();
  }
}

/** One HTTP request of the mix. */
async function httpOnce(server: ServerProcess, owners: readonly Owner[], tally: Tally): Promise<void> {
  const owner = pick(owners);
  const golem = pick(owner.golems);
  const roll = Math.random();
  let req: [string, string, unknown?];
  if (roll < 0.3) {
    req = ["POST", "/v1/styx/entries", entryBody(golem, int(0, IDEMPOTENCY_KEYS - 1))];
  } else if (roll < 0.45)
    req = ["POST", "/v1/styx/query", { query: pick(["liquidity", "funding rate", "soak note", "oracle drift"]), limit: 10 }];
  else if (roll < 0.65) {
    req = [
      "POST",
      "/v1/styx/pheromone/deposit",
      {
        golem_id: golem,
        layer: pick(["threat", "opportunity", "wisdom"]),
        class: pick(["squeeze", "depeg", "rug", "arb"]),
        intensity: 0.2 + Math.random() * 0.6,
        domain: pick(DOMAINS),
        regime: pick(["calm", "volatile"]),
      },
    ];
  } else if (roll < 0.8) req = ["GET", `/v1/styx/pheromone/sense?domains=${some(DOMAINS, 3).join(",")}`];
  else if (roll < 0.88) req = ["GET", `/v1/styx/fleet/${owner.id}`];
  else if (roll < 0.95) req = ["GET", `/v1/styx/snapshot/${golem}?format=json&limit=50`];
  else req = ["POST", `/v1/styx/golem/${golem}/steer`, { intent: "hold", severity: "low" }];
  tally.http++;
  try {
    const r = await call(server.url, req[0], req[1], owner.key, req[2]);
    if (r.status >= 300) tally.fail(`${req[0]} ${req[1].split("?")[0]}: ${r.status} ${r.text.slice(0, 200)}`);
  } catch (err) {
    tally.fail(`${req[0]} ${req[1]}: ${(err as Error).message}`);
  }
}
