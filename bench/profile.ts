/**
 * Where a request's time goes (issue 22, Deliver 1): each hot route under load, with the server
 * under V8's sampling CPU profiler, on a micronode and on a one-gateway macronode.
 *
 *   npm run build && node --import tsx bench/profile.ts        # updates docs/benchmarks.md
 *   BENCH_QUICK=1 node --import tsx bench/profile.ts           # quick run: stdout only
 *
 * Servers: `styx serve` children started with `--inspect=127.0.0.1:0` (bench/lib/macro-topology.ts
 * `serve`, as bench/macro.ts): a micronode on a temp data dir (SQLite, WAL) and one macronode
 * gateway of a fresh cluster over the local PostgreSQL, NATS JetStream and Redis and an S3
 * server in this process (s3rver). The profiler is driven over the inspector's WebSocket
 * (bench/lib/remote-profile.ts: the profile `node --cpu-prof` takes, 1 ms sampling), started
 * after each phase's warm-up and stopped at its end; bench/lib/cpu-profile.ts sums self time per
 * area (src/ folder, node_modules package, node internals, native code, GC, idle) and function.
 *
 * Phases, each PROFILE_S seconds after WARMUP_S unprofiled, load from one forked keep-alive
 * client (bench/lib/load-client.ts), 32 requests in flight unless said:
 *   single write, text only (POST /v1/styx/entries, 12 words); single write with a 384-d
 *   embedding; batch write (POST /v1/styx/entries/batch, 64 entries with embeddings, 8 in
 *   flight); deposit (a new pheromone each, 100 domains); sense (GET …/pheromone/sense, 2 of the
 *   100 domains the deposits filled); query vector / lexical / fused (limit 10) by a second user
 *   whose vault holds QUERY_N (10,000) entries written through the batch route beforehand, the
 *   ANN index caught up (styx_vector_backlog 0); socket event (golem:tick from one golem socket,
 *   200 outstanding until acked and delivered to 10 owner sockets: bench/lib/macro-sockets.ts).
 * CPU per operation: the server process's (all threads, /proc) and, on the macronode, that of
 * PostgreSQL (the gateway's backends + shared processes), nats-server and redis-server
 * (bench/lib/service-cpu.ts; shared with any other client of those services: an upper bound).
 * The profile samples the main thread only: worker threads (the ANN index, the scrubber) are in
 * the process's CPU, not in the areas.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type S3Server, startS3Server } from "../src/testing/s3-server.js";
import { dropClusters, macroEnv, newCluster } from "../src/testing/services.js";
import { clusteredSource, DIM, int, machine, ms, pct, publishReport, rng, table, words } from "./lib/common.js";
import { type ProfileSummary, summarizeProfile } from "./lib/cpu-profile.js";
import { createGolems, createUser, forkChild, procCpuMs } from "./lib/fabric.js";
// Types only: load-client.ts answers the first message of any process started with --child, this file's child included.
import type { LoadJob, LoadResult } from "./lib/load-client.js";
import { type EventResult, type SocketClient, serveSockets } from "./lib/macro-sockets.js";
import { populate, type ServerProcess, serve, stopServers, type Topology, warnings } from "./lib/macro-topology.js";
import { attachProfiler, INSPECT_ARG, type RemoteProfiler } from "./lib/remote-profile.js";
import { cpuDelta, sampleCpu } from "./lib/service-cpu.js";

const QUICK = process.env.BENCH_QUICK === "1";
const PROFILE_S = Number(process.env.PROFILE_SECONDS ?? (QUICK ? 1.5 : 5));
const WARMUP_S = QUICK ? 0.5 : 2;
/** Comma-separated phase name prefixes to run (e.g. `deposit,socket event`); the report is then stdout only. */
const ONLY = process.env.PROFILE_PHASES?.split(",").filter(Boolean);
/** A directory to write each phase's raw profile to (`<topology>-<phase>.cpuprofile`, for DevTools or speedscope). */
const DUMP = process.env.PROFILE_DUMP;
/** More node flags for the servers (as bench/macro.ts's BENCH_SERVER_NODE_ARGS), e.g. an `--import` that counts something. */
const EXTRA_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
const QUERY_N = Number(process.env.PROFILE_QUERY_N ?? (QUICK ? 2_000 : 10_000));
const FULL = !QUICK && !ONLY && !DUMP && PROFILE_S === 5 && QUERY_N === 10_000;
const CONCURRENCY = 32;
const BATCH = 64;
const BATCH_CONCURRENCY = 8;
const DOMAINS = 100;
const SURFACES = 10;
const WINDOW = 200;
const FILE = fileURLToPath(import.meta.url);
const log = (m: string) => console.error(m);

/** One profiled phase. */
interface Measured {
  readonly phase: string;
  /** Operations done while profiled: entries written, deposits, queries, senses, events delivered. */
  readonly ops: number;
  readonly elapsedMs: number;
  readonly serverCpuMs: number;
  /** The server's main thread alone (the thread the profile samples). */
  readonly mainCpuMs: number;
  /** Macronode: PostgreSQL, NATS and Redis CPU over the phase. */
  readonly servicesCpuMs: number | undefined;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
  readonly summary: ProfileSummary;
}

/** A topology of this bench: its server, its profiler, the populated user and the query user. */
interface Profiled extends Topology {
  readonly server: ServerProcess;
  readonly profiler: RemoteProfiler;
  queryKey: string;
}

type Run = (seconds: number) => Promise<{ ops: number; failed: number; elapsedMs: number; lat: number[] }>;

async function main(): Promise<void> {
  const { loadClient } = await import("./lib/load-client.js");
  const http = loadClient(); // forked before the servers grow (see loadClient)
  const cluster = newCluster();
  const dataDir = mkdtempSync(join(tmpdir(), "styx-bench-profile-"));
  const servers: ServerProcess[] = [];
  const profilers: RemoteProfiler[] = [];
  let s3: S3Server | undefined;
  let sockets: SocketClient | undefined;
  const results = new Map<string, Measured[]>();
  const t0 = Date.now();
  try {
    s3 = await startS3Server();
    const micro = await serve([], { STYX_DATA_DIR: dataDir }, [INSPECT_ARG, ...EXTRA_NODE_ARGS]);
    servers.push(micro);
    const gw = await serve(["--profile", "macro"], macroEnv(cluster, s3) as Record<string, string>, [INSPECT_ARG, ...EXTRA_NODE_ARGS]);
    servers.push(gw);
    const topologies: Profiled[] = [];
    for (const [name, server, macro] of [
      ["micronode (SQLite data dir)", micro, false],
      ["macronode, 1 gateway", gw, true],
    ] as const) {
      const profiler = await attachProfiler(server.output);
      profilers.push(profiler);
      topologies.push({ name, servers: [server], server, macro, profiler, key: "", golems: [], queryKey: "" });
    }
    sockets = forkChild(FILE);
    await populate(topologies, sockets, 10, SURFACES);
    for (const t of topologies) {
      const list: Measured[] = [];
      results.set(t.name, list);
      for (const [phase, run] of phases(t, http.run, sockets)) {
        if (ONLY && !ONLY.some((w) => phase.startsWith(w))) continue;
        if (phase === "query, vector") await seedQueries(t, http.run);
        list.push(await profile(t, phase, run));
        const m = list[list.length - 1] as Measured;
        log(`profile: ${t.name}: ${phase}: ${int((m.ops / m.elapsedMs) * 1000)}/s, ${ms((m.serverCpuMs * 1000) / m.ops, 0)} µs CPU/op`);
      }
    }
  } finally {
    for (const p of profilers) p.close();
    sockets?.end();
    http.close();
    await stopServers(servers);
    await s3?.close();
    await dropClusters((c) => c === cluster);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const noisy = warnings(servers);
  if (noisy.length) log(`profile: ${noisy.length} warning/error log lines, first: ${noisy.slice(0, 3).join("\n")}`);
  report(results, (Date.now() - t0) / 1000);
}

/** Runs `run` for WARMUP_S, then PROFILE_S under the profiler, sampling the processes' CPU around it. */
async function profile(t: Profiled, phase: string, run: Run): Promise<Measured> {
  await run(WARMUP_S);
  const pids = [t.server.proc.pid as number];
  const before = sampleCpu(pids);
  const pid = pids[0] as number;
  const cpu0 = procCpuMs(pid);
  const main0 = mainThreadCpuMs(pid);
  await t.profiler.start(1000);
  const r = await run(PROFILE_S);
  const prof = await t.profiler.stop();
  if (DUMP) writeFileSync(join(DUMP, `${`${t.name}-${phase}`.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`), JSON.stringify(prof));
  const serverCpuMs = procCpuMs(pid) - cpu0;
  const mainCpuMs = mainThreadCpuMs(pid) - main0;
  const d = cpuDelta(before, sampleCpu(pids));
  return {
    phase,
    ops: r.ops,
    elapsedMs: r.elapsedMs,
    serverCpuMs,
    mainCpuMs,
    servicesCpuMs: t.macro ? d.pgBackends + d.pgShared + d.nats + d.redis : undefined,
    p50: pct(r.lat, 0.5),
    p99: pct(r.lat, 0.99),
    failed: r.failed,
    summary: summarizeProfile(prof),
  };
}

/** CPU time (user + system) of `pid`'s main thread so far, ms (10 ms resolution). */
function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ, as procCpuMs
}

/** Answered (2xx) requests of a load result. */
const answered = (r: LoadResult) =>
  Object.entries(r.statuses)
    .filter(([s]) => s.startsWith("2"))
    .reduce((n, [, v]) => n + v, 0);

/** The phases of topology `t`, in order: name and run. */
function phases(t: Profiled, load: (job: LoadJob) => Promise<LoadResult>, sockets: SocketClient): [string, Run][] {
  let seed = 100;
  const golem = t.golems[0] as string;
  const http = (job: (seconds: number) => LoadJob, perRequest = 1): Run => {
    return async (seconds) => {
      const r = await load(job(seconds));
      const ok = answered(r);
      return { ops: ok * perRequest, failed: r.sent - ok, elapsedMs: r.elapsedMs, lat: r.lat };
    };
  };
  const base = (seconds: number, token = t.key) =>
    ({ url: t.server.url, token, concurrency: CONCURRENCY, durationMs: seconds * 1000, max: 1e9 }) as const;
  const write = (extra: { embedding?: boolean; batch?: number }) => (s: number) => ({
    ...base(s),
    method: "POST" as const,
    path: extra.batch ? "/v1/styx/entries/batch" : "/v1/styx/entries",
    ...(extra.batch ? { concurrency: BATCH_CONCURRENCY } : {}),
    writes: { golemId: golem, seed: seed++, ...extra },
  });
  let depositRound = 0;
  const deposit = (s: number): LoadJob => {
    const round = depositRound++;
    const n = Math.ceil(12_000 * s);
    const bodies = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        golem_id: t.golems[i % t.golems.length],
        layer: ["threat", "opportunity", "wisdom"][i % 3],
        class: `r${round}c${Math.floor(i / DOMAINS)}`,
        intensity: 0.5 + (i % 50) / 100,
        domain: `d${i % DOMAINS}`,
        regime: "bull",
      }),
    );
    return { ...base(s), method: "POST", path: "/v1/styx/pheromone/deposit", max: n, bodies };
  };
  const rand = rng(77);
  const senses = Array.from({ length: 500 }, () => {
    const a = Math.floor(rand() * DOMAINS);
    return `/v1/styx/pheromone/sense?domains=d${a},d${(a + 1 + Math.floor(rand() * (DOMAINS - 1))) % DOMAINS}`;
  });
  const query = (shape: "vector" | "lexical" | "fused") => (s: number) => ({
    ...base(s, t.queryKey),
    method: "POST" as const,
    path: "/v1/styx/query",
    cycle: true,
    bodies: queryBodies(shape),
  });
  const events: Run = async (seconds) => {
    const r = await sockets.request<EventResult>({ op: "run", key: t.name, durationMs: seconds * 1000, window: WINDOW });
    return { ops: r.completed, failed: r.sent - r.completed, elapsedMs: r.elapsedMs, lat: r.lat };
  };
  return [
    ["single write, text only", http(write({ embedding: false }))],
    ["single write, 384-d embedding", http(write({}))],
    [`batch write, ${BATCH} entries (per entry)`, http(write({ batch: BATCH }), BATCH)],
    ["deposit, new pheromone", http(deposit)],
    ["sense, 2 domains", http((s) => ({ ...base(s), method: "GET", path: "/v1/styx/pheromone/sense", paths: senses, cycle: true }))],
    ["query, vector", http(query("vector"))],
    ["query, lexical", http(query("lexical"))],
    ["query, fused", http(query("fused"))],
    [`socket event to ${SURFACES} sockets`, events],
  ];
}

const QUERY_SEED = 0x9e7;
/** 200 query bodies of one shape, limit 10: vectors from the clusters the seeded entries were drawn from, 3 words of their vocabulary. */
function queryBodies(shape: "vector" | "lexical" | "fused"): string[] {
  const src = clusteredSource(QUERY_SEED);
  src.draw(2_000); // the writers' pool: queries are new points of the same clusters
  const q = src.draw(200);
  const rand = rng(QUERY_SEED + 1);
  return Array.from({ length: 200 }, (_, i) => {
    const embedding = Array.from(q.subarray(i * DIM, (i + 1) * DIM), (x) => Number(x.toPrecision(7)));
    const query = words(rand, 3);
    if (shape === "vector") return JSON.stringify({ embedding, limit: 10 });
    if (shape === "lexical") return JSON.stringify({ query, limit: 10 });
    return JSON.stringify({ query, embedding, limit: 10 });
  });
}

/** A second user with QUERY_N entries (batch route, embeddings), then waits for the ANN index to absorb them. */
async function seedQueries(t: Profiled, load: (job: LoadJob) => Promise<LoadResult>): Promise<void> {
  const url = t.server.url;
  const u = await createUser(url, `profile-query-${t.macro ? "macro" : "micro"}`);
  const [golem] = await createGolems(url, u.key, 1);
  t.queryKey = u.key;
  const requests = Math.ceil(QUERY_N / BATCH);
  const r = await load({
    url,
    token: u.key,
    method: "POST",
    path: "/v1/styx/entries/batch",
    concurrency: 4,
    max: requests,
    durationMs: 600_000,
    writes: { golemId: golem as string, seed: QUERY_SEED, batch: BATCH },
  });
  if (answered(r) !== requests) throw new Error(`query seed: ${JSON.stringify(r.statuses)}`);
  for (const deadline = Date.now() + 300_000; ; ) {
    const m = /^styx_vector_backlog (\S+)$/m.exec(await fetch(`${url}/metrics`).then((x) => x.text()));
    if (Number(m?.[1]) === 0) break;
    if (Date.now() > deadline) throw new Error(`vector backlog still ${m?.[1]} after 300 s`);
    await new Promise((res) => setTimeout(res, 200));
  }
  log(`profile: ${t.name}: ${int(requests * BATCH)} entries seeded for the queries`);
}

// The forked child is the socket client; lib/load-client.ts is loaded lazily, in the parent only.
if (process.argv.includes("--child")) serveSockets();
else await main().then(() => process.exit(0));

/** Self-time areas merged for the summary: every native function as "native", the V8 pseudo-frames named. */
function coarse(area: string): string {
  if (area.startsWith("native ")) return "native code (C++ bindings, self)";
  if (area === "(garbage collector)") return "GC";
  if (area === "(program)") return "(program: V8/Node outside JS)";
  return area;
}

/**
 * Main-thread CPU per ms of non-idle samples: the profile's times are wall-clock intervals, so on
 * a busy machine a sample also holds the time its thread waited for a core; shares of the samples
 * times the thread's measured CPU give each area's CPU.
 */
function scale(m: Measured): number {
  const idle = m.summary.areas.find(([a]) => a === "(idle)")?.[1] ?? 0;
  const busy = m.summary.totalMs - idle;
  return busy > 0 ? m.mainCpuMs / busy : 0;
}

function report(results: Map<string, Measured[]>, totalS: number): void {
  const blocks: string[] = [];
  for (const [name, list] of results) {
    const macro = list.some((m) => m.servicesCpuMs !== undefined);
    const rows = list.map((m) => {
      const per = (x: number) => ms((x * 1000) / Math.max(1, m.ops), 0);
      const idle = m.summary.areas.find(([a]) => a === "(idle)")?.[1] ?? 0;
      const k = scale(m);
      const merged = new Map<string, number>();
      for (const [a, v] of m.summary.areas) if (a !== "(idle)") merged.set(coarse(a), (merged.get(coarse(a)) ?? 0) + v);
      const areas = [...merged]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([a, v]) => `${a} ${per(v * k)}`)
        .join(", ");
      return [
        m.phase,
        int((m.ops / m.elapsedMs) * 1000),
        `${ms(m.p50)} / ${ms(m.p99)}`,
        per(m.serverCpuMs),
        ...(macro ? [per(m.servicesCpuMs ?? 0)] : []),
        `${per(m.mainCpuMs)} (${ms((idle / Math.max(1, m.summary.totalMs)) * 100, 0)} % idle)`,
        areas,
      ];
    });
    const head = [
      "Phase",
      "ops/s",
      "p50 / p99 (ms)",
      "Server CPU µs/op",
      ...(macro ? ["PostgreSQL + NATS + Redis CPU µs/op"] : []),
      "Main thread CPU µs/op (sampled idle)",
      "Main thread by area, µs/op (largest 6)",
    ];
    const fns = list.map((m) => {
      const k = scale(m);
      const top = m.summary.functions
        .filter(([f]) => !f.startsWith("("))
        .slice(0, 6)
        .map(([f, v]) => `\`${f}\` ${ms((v * k * 1000) / Math.max(1, m.ops), 1)}`)
        .join(", ");
      const failed = m.failed ? ` (${int(m.failed)} not answered 2xx)` : "";
      return `- ${m.phase}${failed}: ${top}`;
    });
    blocks.push(`**${name}**`, "", table(head, rows), "", "Top functions by self time, µs/op:", "", ...fns, "");
  }
  const body = [
    "Command: `npm run build && node --import tsx bench/profile.ts` (quick: `BENCH_QUICK=1`, stdout only).",
    "",
    `${machine()} Whole run: ${ms(totalS, 0)} s.`,
    "",
    "Each phase runs its route under load for " +
      `${PROFILE_S} s (after ${WARMUP_S} s of warm-up) with the server under V8's sampling CPU profiler (1 ms; ` +
      "`--inspect` and the inspector's Profiler domain over its WebSocket: the profile `node --cpu-prof` takes). " +
      `Load: one forked keep-alive client, ${CONCURRENCY} requests in flight (batch writes: ${BATCH_CONCURRENCY} requests of ${BATCH}); ` +
      `queries by a user whose vault holds ${int(QUERY_N)} entries (384-d, clustered, 12 words; the ANN index caught up), ` +
      `limit 10; sense: 2 of 100 domains filled by the deposit phase; socket events: golem:tick from one golem socket to ` +
      `${SURFACES} owner sockets, ${WINDOW} outstanding. An op is an entry written (a batch request is ${BATCH}), a deposit, ` +
      "a query, a sense or an event delivered to all its sockets. Server CPU: /proc, all threads (the ANN index worker and the " +
      "scrubber's thread included); main thread CPU: /proc of that thread alone, the one the profile samples. An area's or " +
      "a function's µs/op is its share of the profile's non-idle samples times the main thread's CPU (the samples are " +
      "wall-clock intervals: on a busy machine they also hold time spent waiting for a core). Areas: `src/<dir>` " +
      "is Styx's own code (dist/), `node_modules/<pkg>` a package's JavaScript, `node internals` Node's, native code the C++ " +
      "functions called from JavaScript (better-sqlite3, usearch, sockets: see the functions), `(program)` V8 and Node outside " +
      "any JavaScript frame (parsing, compiling, libuv). Macronode service CPU counts all of PostgreSQL's shared processes, " +
      "nats-server and redis-server: shared with any other client of the machine, an upper bound.",
    "",
    ...blocks,
  ].join("\n");
  publishReport("Where a request's time goes (bench/profile.ts)", body, {
    full: FULL,
    overrides: "BENCH_QUICK/PROFILE_SECONDS/PROFILE_QUERY_N",
    section: "## The cost of one request",
  });
}
