/**
 * Fairness under one user's flood (SPEC §14: "one user's flood leaves another user's p95/p99
 * within 3× of alone"; SPEC §12: heavy work under a per-user concurrency limit with fair
 * queueing across users).
 *
 *   npm run build && node --import tsx bench/fairness.ts     # full run (~6 min): updates docs/benchmarks.md
 *   BENCH_QUICK=1 node --import tsx bench/fairness.ts        # quick run (~1 min): stdout only
 *
 * 1. How heavy work yields (in process, no HTTP): for each kind of heavy work, its wall time,
 *    the longest stretch the event loop spent in it without a turn (a setImmediate chain ticks
 *    once per loop turn; the longest gap between ticks), and the turns it took. The fair queue can
 *    only reorder work between turns: a stretch runs to its end whatever the queue says.
 * 2. Two `styx serve` processes in turn (micronode, SQLite data dir), each seeded over HTTP with
 *    the vaults of user A and user B: `fair` (the STYX_HEAVY_* defaults) and `off` (limits of
 *    1,000,000: every request runs at once, as before the queue). On each, in the same run:
 *    user B's steady mix (one request at a time: vector, lexical and fused queries, a snapshot
 *    page of 100) alone, then the same mix while user A floods: batch writes of 64 entries
 *    (8 connections), fused queries with limit 100 (16 connections), whole-vault NDJSON
 *    snapshots (2 connections) and sockets (each an owner surface receiving every event,
 *    some sending golem events). B's p50/p95/p99 and their ratio to alone.
 *
 * Limits raised, as for every bench: request buckets (1,000,000/s per identity and IP) and both
 * users on the steward tier (quotas out of the way), and load shedding out of the way
 * (STYX_MAX_EVENT_LOOP_LAG 60 s, STYX_MAX_INFLIGHT 1,000,000: a shed request would be a refusal,
 * not a latency). B's percentiles are over answered (200) requests; any other status is counted
 * and fails the goal. Clients run in child processes; A's flood generators at nice 19, so that on
 * a 2-core machine the flood's own client CPU is not what B waits for (on a deployment the clients
 * are other machines); B's client and the server keep the normal priority.
 */
import { execSync } from "node:child_process";
import { setPriority } from "node:os";
import { ManualClock } from "../src/core/platform/clock.js";
import { presentSnapshotEntry } from "../src/server/presenters/knowledge.js";
import { slicedJson } from "../src/server/sliced-json.js";
import { startTestServer } from "../src/testing/test-server.js";
import { clusteredSource, DIM, int, machine, ms, pct, publishReport, rng, table, words } from "./lib/common.js";
import { createGolems, createUser, startStyx, tempDataDir } from "./lib/fabric.js";
import { type LoadJob, type LoadResult, loadClient } from "./lib/load-client.js";
import { socketFlood } from "./lib/socket-flood.js";

const QUICK = process.env.BENCH_QUICK === "1";
/** Entries in each user's vault. */
const SEED_N = QUICK ? 2_000 : 20_000;
/** Seconds of B's mix per phase. */
const PHASE_S = QUICK ? 8 : 45;
const RAMP_MS = 1_000;
const SOCKETS = QUICK ? 50 : 200;
const SOCKET_RATE = 100;
/** Request bodies prepared per client run (more than a phase can send, less than a huge IPC message). */
const LIST = QUICK ? 3_000 : 12_000;
const PROBE_REPS = QUICK ? 10 : 50;
const SEED = 0xfa12;
const SECTION = "## Fairness";
/** Nice value of A's flood generators (see the report). */
const FLOOD_NICE = 19;
/** Limits out of the way (besides fabric.ts's request buckets): quotas (steward tier) and load shedding. */
/** Parts of A's flood (diagnosis: `BENCH_FLOOD=queries,sockets`); all four by default. Any other choice prints only. */
const FLOOD = new Set((process.env.BENCH_FLOOD ?? "writes,queries,snapshots,sockets").split(","));
/** Server variants to run (diagnosis: `BENCH_VARIANTS=fair`). */
const VARIANTS = new Set((process.env.BENCH_VARIANTS ?? "fair,off").split(","));
/** Extra server settings of the `fair` variant (diagnosis, JSON): `BENCH_FAIR_ENV='{"STYX_HEAVY_PER_USER":"1"}'`. */
const FAIR_ENV = process.env.BENCH_FAIR_ENV ?? "{}";
const PARTIAL = FLOOD.size !== 4 || VARIANTS.size !== 2 || FAIR_ENV !== "{}";
const BENCH_ENV = { STYX_DEFAULT_TIER: "steward", STYX_MAX_EVENT_LOOP_LAG: "60s", STYX_MAX_INFLIGHT: "1000000" };
const t0 = performance.now();
const log = (m: string) => console.error(`fairness [${((performance.now() - t0) / 1000).toFixed(0)} s]: ${m}`);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

const vecs = clusteredSource(SEED).draw(4_000);
const vec = (i: number) => Array.from(vecs.subarray((i % 4_000) * DIM, ((i % 4_000) + 1) * DIM), (x) => Number(x.toPrecision(6)));
const rand = rng(SEED + 1);

// ---- 1. yielding, in process ------------------------------------------------------------------

interface Probe {
  readonly name: string;
  readonly wallMs: number[];
  readonly blockMs: number[];
  readonly turns: number[];
}

/** Runs `op` alone `reps` times while a setImmediate chain measures the loop's turns. */
async function probe(name: string, reps: number, op: (i: number) => Promise<unknown>): Promise<Probe> {
  const p: Probe = { name, wallMs: [], blockMs: [], turns: [] };
  for (let i = 0; i < reps; i++) {
    let last = performance.now();
    let block = 0;
    let turns = 0;
    let on = true;
    const tick = () => {
      const t = performance.now();
      block = Math.max(block, t - last);
      last = t;
      turns++;
      if (on) setImmediate(tick);
    };
    setImmediate(tick);
    const t0 = performance.now();
    await op(i);
    const wall = performance.now() - t0;
    on = false;
    block = Math.max(block, performance.now() - last);
    await new Promise((r) => setImmediate(r));
    p.wallMs.push(wall);
    p.blockMs.push(block);
    p.turns.push(turns);
  }
  return p;
}

async function yielding(): Promise<Probe[]> {
  log(`yield probe: seeding ${int(SEED_N)} entries in process…`);
  const s = await startTestServer({ persistent: true, clock: new ManualClock(), env: { STYX_DEFAULT_TIER: "steward" } });
  try {
    const u = await s.user("probe");
    await s.golem(u.key, { id: "probe-g" });
    const golem = await s.styx.storage.identity.getGolem("probe-g");
    if (!golem) throw new Error("golem missing");
    const entry = (i: number) => ({
      golem,
      layer: "vault" as const,
      category: "insight" as const,
      confidence: 0.5,
      content: `entry ${i}: ${words(rand, 12)}`,
      embedding: vec(i),
    });
    for (let from = 0; from < SEED_N; from += 250)
      await s.styx.knowledge.service.writeMany(
        Array.from({ length: Math.min(250, SEED_N - from) }, (_, j) => entry(from + j)),
        [],
        null,
      );
    await s.styx.knowledge.vectors.flush();
    const svc = s.styx.knowledge.service;
    const who = { userId: u.id, golemId: null };
    const q = (i: number, text: boolean, embedding: boolean, limit: number) =>
      svc.query(who, {
        ...(text ? { text: words(rand, 3) } : {}),
        ...(embedding ? { embedding: vec(SEED_N + i) } : {}),
        limit,
        explain: false,
      });
    log("yield probe: measuring…");
    let w = SEED_N;
    return [
      await probe("query, vector (limit 10)", PROBE_REPS, (i) => q(i, false, true, 10)),
      await probe("query, lexical (3 words, limit 10)", PROBE_REPS, (i) => q(i, true, false, 10)),
      await probe("query, fused (limit 100)", PROBE_REPS, (i) => q(i, true, true, 100)),
      await probe("snapshot page (100 entries)", PROBE_REPS, () => svc.snapshotPage("probe-g", 100)),
      await probe("snapshot page (1,000 entries), read and served as JSON", PROBE_REPS, async () => {
        const page = await svc.snapshotPage("probe-g", 1_000);
        for await (const _ of slicedJson("entries", page.entries, presentSnapshotEntry, { next_after: page.next }));
      }),
      await probe("batch write (64 entries)", PROBE_REPS, () =>
        svc.writeMany(
          Array.from({ length: 64 }, () => entry(w++)),
          [],
          null,
        ),
      ),
    ];
  } finally {
    await s.close();
  }
}

// ---- 2. B alone and under A's flood, queue on and off -----------------------------------------

interface Phase {
  readonly b: LoadResult;
  readonly kinds: string[];
  readonly flood?: { writes: LoadResult; queries: LoadResult; snapshots: LoadResult; sockets: SocketResult };
}

interface Variant {
  readonly name: string;
  readonly env: Record<string, string>;
  alone?: Phase;
  flooded?: Phase;
}

let sockets: ReturnType<typeof socketFlood> | undefined;
type SocketResult = Awaited<ReturnType<ReturnType<typeof socketFlood>["run"]>>;

/** B's mix: request i is a vector, lexical or fused query or a snapshot page, in turn. */
function bMix(url: string, golemId: string, n: number): { job: Omit<LoadJob, "url" | "token" | "durationMs">; kinds: string[] } {
  const kinds: string[] = [];
  const paths: string[] = [];
  const methods: ("GET" | "POST")[] = [];
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    kinds.push(["vector", "lexical", "fused", "snapshot"][k] as string);
    if (k === 3) {
      paths.push(`${url}/v1/styx/snapshot/${golemId}?format=json&limit=100`);
      methods.push("GET");
      bodies.push("");
      continue;
    }
    paths.push("/v1/styx/query");
    methods.push("POST");
    const body: Record<string, unknown> = { limit: 10 };
    if (k !== 1) body.embedding = vec(10_000 + i);
    if (k !== 0) body.query = words(rand, 3);
    bodies.push(JSON.stringify(body));
  }
  return { job: { method: "POST", path: "/v1/styx/query", paths, methods, bodies, concurrency: 1, max: n }, kinds };
}

async function runVariant(v: Variant, clients: ReturnType<typeof loadClient>[]): Promise<void> {
  const dir = tempDataDir("styx-bench-fair-");
  const srv = await startStyx({ dataDir: dir.dir, env: { ...BENCH_ENV, ...v.env } });
  try {
    const a = await createUser(srv.url, "flooder");
    const b = await createUser(srv.url, "bystander");
    const [ga] = await createGolems(srv.url, a.key, 1);
    const [gb] = await createGolems(srv.url, b.key, 1);
    if (!ga || !gb) throw new Error("golems missing");
    log(`${v.name}: seeding ${int(SEED_N)} entries for each user…`);
    const [c0, c1, c2, c3, c4] = clients as [
      ReturnType<typeof loadClient>,
      ReturnType<typeof loadClient>,
      ReturnType<typeof loadClient>,
      ReturnType<typeof loadClient>,
      ReturnType<typeof loadClient>,
    ];
    const seed = (token: string, golemId: string, s: number) =>
      c0.run({
        url: srv.url,
        token,
        method: "POST",
        path: "/v1/styx/entries/batch",
        concurrency: 2,
        max: SEED_N / 64,
        durationMs: 600_000,
        writes: { golemId, seed: s, batch: 64 },
      });
    for (const r of [await seed(a.key, ga, 1), await seed(b.key, gb, 2)])
      if (Object.keys(r.statuses).some((k) => k !== "201")) throw new Error(`seeding: ${JSON.stringify(r.statuses)}`);
    await waitForIndex(srv.url);

    const mix = bMix(srv.url, gb, LIST);
    const bRun = () => c1.run({ url: srv.url, token: b.key, durationMs: PHASE_S * 1000, ...mix.job });
    log(`${v.name}: B alone, ${PHASE_S} s…`);
    await c1.run({ url: srv.url, token: b.key, durationMs: 2_000, ...mix.job }); // warm-up
    v.alone = { b: await bRun(), kinds: mix.kinds };

    log(`${v.name}: B while A floods, ${PHASE_S} s…`);
    const floodMs = RAMP_MS + PHASE_S * 1000 + 500;
    if (FLOOD.has("sockets")) await (sockets as ReturnType<typeof socketFlood>).open({ wsUrl: srv.wsUrl, token: a.key, sockets: SOCKETS });
    const bigQueries = Array.from({ length: LIST }, (_, i) =>
      JSON.stringify({ query: words(rand, 3), embedding: vec(20_000 + i), limit: 100 }),
    );
    const skipped = Promise.resolve({ sent: 0, elapsedMs: 1, lat: [], statuses: {}, clientCpuMs: 0 } as LoadResult);
    const flood = Promise.all([
      !FLOOD.has("writes")
        ? skipped
        : c2.run({
            url: srv.url,
            token: a.key,
            method: "POST",
            path: "/v1/styx/entries/batch",
            concurrency: 8,
            max: 1_000_000,
            durationMs: floodMs,
            writes: { golemId: ga, seed: 3, batch: 64 },
          }),
      !FLOOD.has("queries")
        ? skipped
        : c3.run({
            url: srv.url,
            token: a.key,
            method: "POST",
            path: "/v1/styx/query",
            concurrency: 16,
            max: bigQueries.length,
            durationMs: floodMs,
            bodies: bigQueries,
          }),
      !FLOOD.has("snapshots")
        ? skipped
        : c4.run({
            url: srv.url,
            token: a.key,
            method: "GET",
            path: `/v1/styx/snapshot/${ga}?format=json&limit=1000`,
            concurrency: 2,
            max: 1_000_000,
            durationMs: floodMs,
          }),
      !FLOOD.has("sockets")
        ? Promise.resolve({ opened: 0, sent: 0, received: 0, errors: 0, closes: {} })
        : (sockets as ReturnType<typeof socketFlood>).run({ golemId: ga, senders: 10, rate: SOCKET_RATE, durationMs: floodMs }),
    ]);
    await sleep(RAMP_MS);
    const bFlooded = await bRun();
    const [writes, queries, snapshots, sock] = await flood;
    v.flooded = { b: bFlooded, kinds: mix.kinds, flood: { writes, queries, snapshots, sockets: sock } };
    log(`${v.name}: flood over; stopping the server…`);
  } finally {
    await srv.stop();
    dir.remove();
  }
}

async function waitForIndex(url: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (/^styx_vector_backlog 0$/m.test(text)) return;
    await sleep(100);
  }
  throw new Error("vector index did not catch up in 300 s");
}

// ---- main ---------------------------------------------------------------------------------

const clients = Array.from({ length: 5 }, () => loadClient()); // forked before the bench grows
sockets = socketFlood();
// A's flood generators (load clients 2–4 and the socket flood) yield the CPU to the server and to B's client.
let floodNiced = true;
for (const pid of [clients[2]?.pid, clients[3]?.pid, clients[4]?.pid, sockets.pid]) {
  try {
    if (pid === undefined) throw new Error("no pid");
    setPriority(pid, FLOOD_NICE);
  } catch {
    floodNiced = false;
  }
}
const started = performance.now();
const probes = process.env.BENCH_SKIP_PROBE === "1" ? [] : await yielding();
const variants: Variant[] = [
  { name: "fair", env: JSON.parse(FAIR_ENV) },
  {
    name: "off",
    env: {
      STYX_HEAVY_CONCURRENCY: "1000000",
      STYX_HEAVY_PER_USER: "1000000",
      STYX_HEAVY_QUEUE: "1000000",
      STYX_HEAVY_QUEUE_TOTAL: "1000000",
      STYX_HEAVY_BUSY_LOOP: "100",
    },
  },
];
try {
  for (const v of variants) if (VARIANTS.has(v.name)) await runVariant(v, clients);
} finally {
  for (const c of clients) c.close();
  sockets.end();
}
const took = (performance.now() - started) / 1000;

const med = (xs: number[]) => pct(xs, 0.5);
const probeTable = table(
  ["Heavy work (in process, alone)", "wall p50 (ms)", "longest stretch without a turn, p50 (ms)", "p99 (ms)", "loop turns, p50"],
  probes.map((p) => [p.name, ms(med(p.wallMs)), ms(med(p.blockMs)), ms(pct(p.blockMs, 0.99)), int(med(p.turns))]),
);

/** B's latencies of answered (200) requests; refusals are counted in the statuses column instead. */
const latOf = (p: Phase, kind?: string) =>
  p.b.lat.filter((_, i) => p.b.codes?.[i] === "200" && (kind === undefined || p.kinds[i] === kind));
const allAnswered = (p: Phase) => (p.b.codes ?? []).every((c) => c === "200");
const statuses = (r: LoadResult) =>
  Object.entries(r.statuses)
    .map(([k, n]) => `${k}: ${int(n)}`)
    .join(", ");
const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
const rows: string[][] = [];
for (const v of variants.filter((x) => x.alone)) {
  const alone = v.alone as Phase;
  const flooded = v.flooded as Phase;
  for (const kind of [undefined, "vector", "lexical", "fused", "snapshot"]) {
    const la = latOf(alone, kind);
    const lf = latOf(flooded, kind);
    const p95 = pct(lf, 0.95) / pct(la, 0.95);
    const p99 = pct(lf, 0.99) / pct(la, 0.99);
    rows.push([
      `${v.name}: ${kind ?? "**all of B's mix**"}`,
      `${int(la.length)} / ${int(lf.length)}`,
      `${ms(pct(la, 0.5))} / ${ms(pct(lf, 0.5))}`,
      `${ms(pct(la, 0.95))} / ${ms(pct(lf, 0.95))}`,
      `${ms(pct(la, 0.99))} / ${ms(pct(lf, 0.99))}`,
      ratio(pct(lf, 0.95), pct(la, 0.95)),
      ratio(pct(lf, 0.99), pct(la, 0.99)),
      kind === undefined ? (p95 <= 3 && p99 <= 3 && allAnswered(flooded) ? "met" : "missed") : "",
    ]);
  }
}
const latTable = table(
  ["User B's requests (server: queue)", "count alone / flooded", "p50 (ms)", "p95 (ms)", "p99 (ms)", "p95 ratio", "p99 ratio", "goal ≤ 3×"],
  rows,
);
const floodRows = variants
  .filter((x) => x.alone)
  .map((v) => {
    const f = (v.flooded as Phase).flood;
    if (!f) return [v.name, "", "", "", "", ""];
    const perS = (r: LoadResult) => `${int(r.sent / (r.elapsedMs / 1000))}/s (${statuses(r)})`;
    return [
      v.name,
      perS(f.writes),
      perS(f.queries),
      perS(f.snapshots),
      `${int(f.sockets.opened)} sockets, ${int(f.sockets.sent)} events sent, ${int(f.sockets.received)} frames received, ${int(f.sockets.errors)} error frames`,
      `alone: ${statuses((v.alone as Phase).b)}; flooded: ${statuses((v.flooded as Phase).b)}`,
    ];
  });
const floodTable = table(
  [
    "Server",
    "A: batch writes (64, 8 conn.)",
    "A: fused queries, limit 100 (16 conn.)",
    "A: snapshot pages of 1,000 (2 conn.)",
    "A: sockets",
    "B: statuses",
  ],
  floodRows,
);
const nproc = execSync("nproc").toString().trim();
const body = [
  "Command: `npm run build && node --import tsx bench/fairness.ts` (quick: `BENCH_QUICK=1`, stdout only).",
  "",
  machine(),
  "",
  `Run took ${int(took)} s. Each user's vault: ${int(SEED_N)} entries (384-d clustered vectors, 12 words), written over HTTP in batches of 64. ` +
    `B's mix, one request at a time for ${PHASE_S} s per phase: vector (limit 10), lexical (3 words), fused queries and a JSON snapshot page of 100, in turn. ` +
    `A's flood, started ${RAMP_MS / 1000} s before B's flooded phase: batch writes of 64 entries (8 connections), fused queries with limit 100 (16), ` +
    `JSON snapshot pages of 1,000 (2), and ${int(SOCKETS)} sockets of A (each receiving every event of A's golem; 10 send ${int(SOCKET_RATE)} events/s in total). ` +
    `\`fair\`: the STYX_HEAVY_* defaults (8 at once per process, 2 per user — 1 while users contend for a loop busier than 50 % — and 32 waiting per user; snapshot pages serialized in 2 ms slices)${FAIR_ENV === "{}" ? "" : `, with ${FAIR_ENV}`}; \`off\`: the four limits at 1,000,000 and STYX_HEAVY_BUSY_LOOP=100 (slicing stays). ` +
    `Limits raised as in every bench: request buckets 1,000,000/s, steward tier, load shedding off (STYX_MAX_EVENT_LOOP_LAG 60 s, ` +
    `STYX_MAX_INFLIGHT 1,000,000). B's percentiles are over its answered (200) requests; any other status fails the goal. ${nproc} cores: the server, ` +
    `its ANN worker and the client processes share them; A's flood generators run at nice ${FLOOD_NICE} (${floodNiced ? "set" : "NOT set: not permitted here"}) — on a real deployment they are other machines, here a flood client that takes a core takes it from the server and from B's client alike (B's client runs at the normal priority, as the server does).`,
  "",
  "How heavy work yields (in process, each kind alone; the queue can reorder work only between turns of the event loop):",
  "",
  probeTable,
  "",
  "User B alone and while A floods (alone / flooded):",
  "",
  latTable,
  "",
  "What A's flood did, and B's answers:",
  "",
  floodTable,
].join("\n");
publishReport("One user's flood, another user's latency (bench/fairness.ts)", body, {
  full: !QUICK && !PARTIAL && process.env.BENCH_SKIP_PROBE !== "1",
  overrides: "BENCH_QUICK, BENCH_FLOOD, BENCH_VARIANTS, BENCH_FAIR_ENV or BENCH_SKIP_PROBE",
  section: SECTION,
});
process.exit(0);
