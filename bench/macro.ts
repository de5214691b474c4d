/**
 * Per-write and per-event cost on macronode vs micronode, on this machine, in one run.
 *
 *   npm run build && node --import tsx bench/macro.ts                # updates docs/benchmarks.md
 *   MACRO_SECONDS=2 node --import tsx bench/macro.ts                  # quick run: stdout only
 *
 * Three topologies, all started first and measured in turn (interleaved per measure):
 *   micronode: one `styx serve` process on a temp data dir (SQLite, WAL);
 *   macronode ×1: one gateway (`serve --profile macro`) of a fresh cluster;
 *   macronode ×2: two gateways A and B of another fresh cluster;
 * over the local PostgreSQL, NATS JetStream and Redis and an in-process S3 server (s3rver, in this
 * process). Measures, each MACRO_SECONDS (10) per topology after a short warm-up:
 *   entry writes: POST /v1/styx/entries (384-d embedding, 12 words), 32 in flight (×2: 16 to A,
 *     16 to B), from a forked keep-alive client; plus the same one at a time (unloaded latency);
 *   pheromone deposits: POST /v1/styx/pheromone/deposit, new keys, 32 in flight (split likewise);
 *   golem events: one golem socket on A sends `{type:"event",id,…}` (golem:tick), at most 200
 *     events outstanding (outstanding until acked and delivered to every surface), to 10 sockets
 *     of the owner (×2: 5 on A, 5 on B); then a paced phase at MACRO_RATE (500) events/s.
 * CPU per operation: /proc utime+stime deltas of the server processes and, for macronode, of the
 * PostgreSQL backends serving the gateways, PostgreSQL's shared processes, nats-server and
 * redis-server (bench/lib/service-cpu.ts), and of this process (the S3 server).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import postgres from "postgres";
import WebSocket from "ws";
import { type S3Server, startS3Server } from "../src/testing/s3-server.js";
import { dropClusters, macroEnv, newCluster, SERVICES } from "../src/testing/services.js";
import { CLI } from "../src/testing/spawn.js";
import { cpuMs, int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import { createGolems, createUser, forkChild, freePort, type Json, SERVER_ENV, serveParent } from "./lib/fabric.js";
// Types only: load-client.ts answers the first message of any process started with --child, this one's child included.
import type { LoadJob, LoadResult } from "./lib/load-client.js";
import { type CpuGroup, cpuDelta, localPortsTo, sampleCpu } from "./lib/service-cpu.js";

const SECONDS = Number(process.env.MACRO_SECONDS ?? 10);
const RATE = Number(process.env.MACRO_RATE ?? 500);
const FULL = SECONDS === 10 && RATE === 500;
const WARMUP_S = Math.min(2, SECONDS / 2);
const PACED_S = Math.min(5, SECONDS);
const CONCURRENCY = 32;
const SERIAL_WRITES = SECONDS * 30;
const SURFACES = 10;
const WINDOW = 200;
const GOLEMS = 10;
const LAG = "30s";
const FILE = fileURLToPath(import.meta.url);
const log = (m: string) => console.error(m);

/** Everything a server of the bench gets: limits out of the way, shedding only on a 30 s stall. */
const ENV = { ...SERVER_ENV, STYX_LOG_LEVEL: "warn", STYX_MAX_EVENT_LOOP_LAG: LAG };

/** A `styx serve` child of the bench. */
interface ServerProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  readonly exited: Promise<unknown>;
}

/**
 * `node dist/cli/main.js serve <args>` on a free port with ENV + `env` (logs at warn: at info
 * Fastify logs every request, which this bench would measure), ready once /readyz answers 200.
 */
async function serve(args: string[], env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the servers (as bench/lib/fabric.ts)
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, CLI, "serve", "--host", "127.0.0.1", "--port", String(port), ...args], {
    env: { PATH: process.env.PATH ?? "", ...ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  process.once("exit", () => proc.kill("SIGKILL"));
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  let gone = false;
  const exited = new Promise((resolve) =>
    proc.once("exit", (code, signal) => {
      gone = true;
      resolve(code ?? signal);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (gone || Date.now() > deadline) throw new Error(`server not ready:\n${out}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, proc, output: () => out, exited };
}

// ── the socket client (child) ───────────────────────────────────────────────────────────────

interface EventTarget {
  readonly sender: WebSocket;
  readonly surfaces: WebSocket[];
  readonly golemId: string;
  next: number;
  outOfOrder: number;
  readonly anomalies: string[];
  readonly errors: string[];
  readonly closes: Record<string, number>;
}

interface EventRun {
  readonly base: number;
  readonly counts: Uint8Array;
  readonly acked: Uint8Array;
  readonly sentAt: Float64Array;
  readonly lat: number[];
  readonly ackLat: number[];
  completed: number;
  onComplete(): void;
}

/** An event run's result. */
interface EventResult {
  readonly sent: number;
  readonly completed: number;
  readonly elapsedMs: number;
  readonly delivered: number;
  readonly lat: number[];
  readonly ackLat: number[];
  readonly clientCpuMs: number;
  readonly outOfOrder: number;
  readonly anomalies: string[];
  readonly errors: string[];
  readonly closes: Record<string, number>;
}

const targets = new Map<string, EventTarget>();
let run: EventRun | undefined;

function openSocket(url: string, token: string, t: { errors: string[]; closes: Record<string, number> }, on: (f: Json) => void) {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once("error", reject);
    ws.once("unexpected-response", (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on("close", (code) => (t.closes[code] = (t.closes[code] ?? 0) + 1));
    ws.on("message", (data) => {
      const v = JSON.parse(data.toString());
      for (const f of Array.isArray(v) ? v : [v]) {
        if (f.type === "welcome") resolve(ws);
        else if (f.type === "error" && t.errors.length < 5) t.errors.push(JSON.stringify(f));
        else on(f);
      }
    });
  });
}

const complete = (r: EventRun, i: number) => {
  if (r.acked[i] === 1 && r.counts[i] === SURFACES) {
    r.completed++;
    r.onComplete();
  }
};

async function connectEvents(msg: { key: string; sender: string; surfaces: string[]; token: string; golemId: string }) {
  const t = { errors: [] as string[], closes: {} as Record<string, number> };
  const surfaces: WebSocket[] = [];
  for (const url of msg.surfaces) {
    let expect = -1;
    let lastSeq = 0;
    let trail = 0;
    const ws = await openSocket(url, msg.token, t, (f) => {
      const n = f.payload?.n;
      if (f.channel !== "golem:tick" || typeof n !== "number") return;
      const now = performance.now();
      if (trail > 0 && trail-- > 0) target.anomalies.push(`  then ${n} (seq ${f.seq})`);
      if (expect !== -1 && n !== expect) {
        target.outOfOrder++;
        if (target.anomalies.length < 3) {
          target.anomalies.push(`expected ${expect} after seq ${lastSeq}, got ${n} (seq ${f.seq})`);
          trail = 2;
        }
      }
      lastSeq = f.seq;
      expect = n + 1;
      const r = run;
      const i = r ? n - r.base : -1;
      if (!r || i < 0 || i >= r.counts.length) return;
      r.lat.push(now - f.payload.t);
      r.counts[i] = (r.counts[i] as number) + 1;
      complete(r, i);
    });
    surfaces.push(ws);
  }
  const sender = await openSocket(msg.sender, msg.token, t, (f) => {
    const r = run;
    if (f.type !== "ack" || !r || typeof f.id !== "string") return;
    const i = Number(f.id.slice(1)) - r.base;
    if (i < 0 || i >= r.acked.length) return;
    r.acked[i] = 1;
    r.ackLat.push(performance.now() - (r.sentAt[i] as number));
    complete(r, i);
  });
  const target: EventTarget = { sender, surfaces, golemId: msg.golemId, next: 0, outOfOrder: 0, anomalies: [], ...t };
  targets.set(msg.key, target);
  return {};
}

/** Sends events for `durationMs` (window or rate), then waits up to 20 s for the last to complete. */
async function runEvents(msg: { key: string; durationMs: number; window?: number; rate?: number }): Promise<EventResult> {
  const t = targets.get(msg.key) as EventTarget;
  const cap = 400_000;
  const r: EventRun = {
    base: t.next,
    counts: new Uint8Array(cap),
    acked: new Uint8Array(cap),
    sentAt: new Float64Array(cap),
    lat: [],
    ackLat: [],
    completed: 0,
    onComplete: () => {},
  };
  let sent = 0;
  const send = () => {
    const n = r.base + sent;
    const now = performance.now();
    r.sentAt[sent++] = now;
    t.sender.send(
      `{"type":"event","id":"e${n}","golem_id":"${t.golemId}","event":{"type":"golem:tick","n":${n},"t":${now.toFixed(3)},"tick":${n},"phase":"explore","vitality":0.73}}`,
    );
  };
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let tEnd = t0;
  const stopAt = t0 + msg.durationMs;
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => done(), msg.durationMs + 20_000);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve();
    };
    const sending = () => performance.now() < stopAt && sent < cap;
    r.onComplete = () => {
      tEnd = performance.now();
      if (msg.window !== undefined && sending()) send();
      else if (r.completed === sent && !sending()) done();
    };
    run = r;
    if (msg.window !== undefined) {
      while (sent < msg.window) send();
    } else {
      const every = 1000 / (msg.rate as number);
      const tick = () => {
        const due = Math.min(cap, Math.floor((performance.now() - t0) / every) + 1);
        while (sent < due && sending()) send();
        if (sending()) timer = setTimeout(tick, Math.max(0, t0 + sent * every - performance.now()));
        else if (r.completed === sent) done();
      };
      tick();
    }
  });
  run = undefined;
  t.next = r.base + sent;
  return {
    sent,
    completed: r.completed,
    elapsedMs: tEnd - t0,
    delivered: r.lat.length,
    lat: r.lat,
    ackLat: r.ackLat,
    clientCpuMs: cpuMs() - cpu0,
    outOfOrder: t.outOfOrder,
    anomalies: [...t.anomalies],
    errors: [...t.errors],
    closes: { ...t.closes },
  };
}

// ── the orchestrator ────────────────────────────────────────────────────────────────────────

interface Topology {
  readonly name: string;
  readonly servers: ServerProcess[];
  readonly macro: boolean;
  key: string;
  golems: string[];
}

type Cpu = Record<CpuGroup | "s3", number>;

/** One measured phase of one topology: CPU ms per group over the phase, and the phase's numbers. */
interface Phase {
  readonly ops: number;
  readonly elapsedMs: number;
  readonly cpu: Cpu;
  readonly lat: number[];
  /** Macronode: samples of the gateways' PostgreSQL connections by state and wait event. */
  readonly waits: Record<string, number>;
  readonly extra: Json;
}

const pids = (t: Topology) => t.servers.map((s) => s.proc.pid as number);
let pg: postgres.Sql | undefined;

/**
 * Every 20 ms until `stop()`: what each PostgreSQL connection of `gatewayPids` is doing
 * (pg_stat_activity state and wait event), counted; "idle in transaction / ClientRead" is a
 * transaction waiting for the gateway's next statement.
 */
function sampleWaits(gatewayPids: readonly number[]): { stop(): Promise<Record<string, number>> } {
  const counts: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    let ports: number[] = [];
    for (let i = 0; running; i++) {
      if (i % 25 === 0) ports = gatewayPids.flatMap((p) => [...localPortsTo(p, 5432)]);
      const rows = await (pg as postgres.Sql)<{ s: string }[]>`
        SELECT coalesce(state, '?') || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'running') AS s
        FROM pg_stat_activity WHERE client_port = ANY(${ports}::int[])`;
      for (const r of rows) counts[r.s] = (counts[r.s] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return counts;
    },
  };
}

/** Runs `body` between two CPU samples of `t`'s processes (and, on macronode, samples PostgreSQL's waits). */
async function measured<T>(t: Topology, body: () => Promise<T>): Promise<{ r: T; cpu: Cpu; waits: Record<string, number> }> {
  const waits = t.macro ? sampleWaits(pids(t)) : undefined;
  const before = sampleCpu(pids(t));
  const s0 = cpuMs();
  const r = await body();
  const s3 = cpuMs() - s0;
  const d = cpuDelta(before, sampleCpu(pids(t)));
  const cpu = t.macro ? { ...d, s3 } : { ...d, pgBackends: 0, pgShared: 0, nats: 0, redis: 0, s3: 0 };
  return { r, cpu, waits: (await waits?.stop()) ?? {} };
}

/** `job` split over the topology's servers (concurrency shared out), run at once; results merged. */
async function httpLoad(servers: readonly ServerProcess[], job: (server: number, url: string) => LoadJob): Promise<LoadResult> {
  const { runLoad } = await import("./lib/load-client.js");
  const rs = await Promise.all(servers.map((s, i) => runLoad(job(i, s.url))));
  const statuses: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    sent: rs.reduce((n, r) => n + r.sent, 0),
    elapsedMs: Math.max(...rs.map((r) => r.elapsedMs)),
    lat: rs.flatMap((r) => r.lat),
    statuses,
    clientCpuMs: rs.reduce((n, r) => n + r.clientCpuMs, 0),
  };
}

const ok = (r: LoadResult, code: string) => r.statuses[code] ?? 0;

/** Entry writes, `concurrency` in flight over the topology's servers (one at a time: on the first server only). */
async function writes(t: Topology, concurrency: number, seconds: number, max: number, seed: number): Promise<Phase> {
  const servers = concurrency === 1 ? t.servers.slice(0, 1) : t.servers;
  const share = concurrency / servers.length;
  const { r, cpu, waits } = await measured(t, () =>
    httpLoad(servers, (i, url) => ({
      url,
      token: t.key,
      method: "POST",
      path: "/v1/styx/entries",
      concurrency: Math.max(1, share),
      max: Math.ceil(max / servers.length),
      durationMs: seconds * 1000,
      writes: { golemId: t.golems[i] as string, seed: seed + i },
    })),
  );
  return { ops: ok(r, "201"), elapsedMs: r.elapsedMs, cpu, lat: r.lat, waits, extra: { statuses: r.statuses, clientCpuMs: r.clientCpuMs } };
}

let depositRound = 0;
/** Deposits of new pheromones (fresh classes over 100 domains), like `writes`. */
async function deposits(t: Topology, concurrency: number, seconds: number, max: number): Promise<Phase> {
  const round = depositRound++;
  const servers = concurrency === 1 ? t.servers.slice(0, 1) : t.servers;
  const per = Math.min(max, 8_000 * seconds);
  const { r, cpu, waits } = await measured(t, () =>
    httpLoad(servers, (g, url) => ({
      url,
      token: t.key,
      method: "POST",
      path: "/v1/styx/pheromone/deposit",
      concurrency: concurrency / servers.length,
      max: per,
      durationMs: seconds * 1000,
      bodies: Array.from({ length: per }, (_, i) =>
        JSON.stringify({
          golem_id: t.golems[i % GOLEMS],
          layer: ["threat", "opportunity", "wisdom"][i % 3],
          class: `r${round}g${g}c${Math.floor(i / 100)}`,
          intensity: 0.5 + (i % 50) / 100,
          domain: `d${i % 100}`,
          regime: "bull",
        }),
      ),
    })),
  );
  return { ops: ok(r, "201"), elapsedMs: r.elapsedMs, cpu, lat: r.lat, waits, extra: { statuses: r.statuses, clientCpuMs: r.clientCpuMs } };
}

type Client = ReturnType<typeof forkChild>;

async function events(c: Client, t: Topology, msg: { durationMs: number; window?: number; rate?: number }): Promise<Phase> {
  const { r, cpu, waits } = await measured(t, () => c.request<EventResult>({ op: "run", key: t.name, ...msg }));
  return { ops: r.completed, elapsedMs: r.elapsedMs, cpu, lat: r.lat, waits, extra: r };
}

/** Database-wide commits and Redis commands so far (shared with every other client of the services). */
async function serviceCounters(sql: postgres.Sql, redis: Redis): Promise<Counters> {
  const [row] = await sql<{ c: string }[]>`SELECT xact_commit::text AS c FROM pg_stat_database WHERE datname = current_database()`;
  const byCmd: Record<string, number> = {};
  for (const m of (await redis.info("commandstats")).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) byCmd[m[1] as string] = Number(m[2]);
  return { commits: Number(row?.c), byCmd };
}

/** Database-wide PostgreSQL commits and Redis calls by command. */
interface Counters {
  readonly commits: number;
  readonly byCmd: Record<string, number>;
}

function countersDelta(a: Counters, b: Counters): Counters {
  const byCmd: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.byCmd)) if (v - (a.byCmd[k] ?? 0) > 0) byCmd[k] = v - (a.byCmd[k] ?? 0);
  return { commits: b.commits - a.commits, byCmd };
}

/** The NATS server's version and one-at-a-time round trips (ms) to each service from this process. */
async function serviceFloors(sql: postgres.Sql, redis: Redis, schema: string): Promise<{ natsVersion: string; rows: string[][] }> {
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: SERVICES.natsUrl });
  const n = 500;
  const time = async (f: () => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await f();
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await f();
      lat.push(performance.now() - t);
    }
    return [ms(pct(lat, 0.5), 3), ms(pct(lat, 0.99), 3)];
  };
  try {
    await sql`CREATE TABLE ${sql(schema)}.bench_rtt (id bigserial PRIMARY KEY, v text)`;
    return {
      natsVersion: nc.info?.version ?? "?",
      rows: [
        ["PostgreSQL `SELECT 1`", ...(await time(() => sql`SELECT 1`))],
        [
          "PostgreSQL `INSERT` of one row, autocommit (a durable commit)",
          ...(await time(() => sql`INSERT INTO ${sql(schema)}.bench_rtt (v) VALUES ('x')`)),
        ],
        ["Redis `PING`", ...(await time(() => redis.ping()))],
        ["NATS round trip (`PING`/`PONG`)", ...(await time(() => nc.rtt()))],
      ],
    };
  } finally {
    await nc.close();
  }
}

async function main(): Promise<void> {
  const clusters = [newCluster(), newCluster()];
  const dataDir = mkdtempSync(join(tmpdir(), "styx-bench-macro-"));
  let s3: S3Server | undefined;
  const servers: ServerProcess[] = [];
  const sql = postgres(SERVICES.databaseUrl, { max: 2, onnotice: () => {} });
  pg = sql;
  const redis = new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: 1 });
  let client: Client | undefined;
  try {
    s3 = await startS3Server();
    const gw = async (cluster: string) => {
      const g = await serve(["--profile", "macro"], macroEnv(cluster, s3 as S3Server) as Record<string, string>);
      servers.push(g);
      return g;
    };
    const micro = await serve([], { STYX_DATA_DIR: dataDir });
    servers.push(micro);
    const one = await gw(clusters[0] as string);
    const a = await gw(clusters[1] as string);
    const b = await gw(clusters[1] as string);
    const topologies: Topology[] = [
      { name: "micronode (SQLite data dir)", servers: [micro], macro: false, key: "", golems: [] },
      { name: "macronode, 1 gateway", servers: [one], macro: true, key: "", golems: [] },
      { name: "macronode, 2 gateways (A + B)", servers: [a, b], macro: true, key: "", golems: [] },
    ];
    client = forkChild(FILE);
    for (const [i, t] of topologies.entries()) {
      const url = (t.servers[0] as ServerProcess).url;
      const u = await createUser(url, `macro-bench-${i}`);
      t.key = u.key;
      t.golems = await createGolems(url, u.key, GOLEMS);
      const ws = (s: ServerProcess) => `${s.url.replace(/^http/, "ws")}/v1/styx/ws`;
      await client.request({
        op: "connect",
        key: t.name,
        token: u.key,
        golemId: t.golems[0],
        sender: ws(t.servers[0] as ServerProcess),
        surfaces: Array.from({ length: SURFACES }, (_, k) => ws(t.servers[k % t.servers.length] as ServerProcess)),
      });
    }
    const res = new Map<string, Map<string, Phase>>(topologies.map((t) => [t.name, new Map()]));
    const counters = new Map<string, Counters>();
    const phase = async (what: string, t: Topology, p: () => Promise<Phase>) => {
      const c0 = await serviceCounters(sql, redis);
      const r = await p();
      const c1 = await serviceCounters(sql, redis);
      counters.set(`${what}|${t.name}`, countersDelta(c0, c1));
      res.get(t.name)?.set(what, r);
      log(
        `macro: ${what}: ${t.name}: ${int((r.ops / r.elapsedMs) * 1000)}/s, p50 ${ms(pct(r.lat, 0.5))} ms, p99 ${ms(pct(r.lat, 0.99))} ms`,
      );
    };
    let seed = 1;
    for (const t of topologies) await writes(t, CONCURRENCY, WARMUP_S, 1e9, seed++);
    for (const t of topologies) await phase("writes", t, () => writes(t, CONCURRENCY, SECONDS, 1e9, seed++));
    for (const t of topologies) await phase("serial", t, () => writes(t, 1, 60, SERIAL_WRITES, seed++));
    for (const t of topologies) await deposits(t, CONCURRENCY, WARMUP_S, 1e9);
    for (const t of topologies) await phase("deposits", t, () => deposits(t, CONCURRENCY, SECONDS, 1e9));
    for (const t of topologies) await phase("serialDeposits", t, () => deposits(t, 1, 60, SERIAL_WRITES));
    for (const t of topologies) await events(client, t, { durationMs: WARMUP_S * 1000, window: WINDOW });
    for (const t of topologies) await phase("events", t, () => events(client as Client, t, { durationMs: SECONDS * 1000, window: WINDOW }));
    for (const t of topologies) await phase("paced", t, () => events(client as Client, t, { durationMs: PACED_S * 1000, rate: RATE }));
    const [pgv] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    const redisV = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1];
    const floors = await serviceFloors(sql, redis, clusters[0] as string);
    report(
      topologies,
      res,
      counters,
      `PostgreSQL ${pgv?.v.split(" ")[0]}, NATS ${floors.natsVersion} with JetStream, Redis ${redisV}`,
      floors.rows,
    );
  } finally {
    client?.end();
    await Promise.allSettled(
      servers.map(async (s) => {
        s.proc.kill("SIGTERM");
        const t = setTimeout(() => s.proc.kill("SIGKILL"), 10_000);
        await s.exited;
        clearTimeout(t);
      }),
    );
    await s3?.close();
    await sql.end({ timeout: 5 });
    redis.disconnect();
    const dropped = await dropClusters((c) => clusters.includes(c));
    log(`macro: dropped clusters ${dropped.join(", ") || "none"}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const noisy = servers.flatMap((s) =>
    s
      .output()
      .split("\n")
      .filter((l) => /"level":(40|50|60)/.test(l)),
  );
  if (noisy.length) log(`macro: ${noisy.length} warning/error log lines, first: ${noisy.slice(0, 3).join("\n")}`);
}

// ── the report ──────────────────────────────────────────────────────────────────────────────

const perSec = (p: Phase) => (p.ops / p.elapsedMs) * 1000;
const ALL: (CpuGroup | "s3")[] = ["gateways", "pgBackends", "pgShared", "nats", "redis", "s3"];
/** CPU ms of `groups` per operation. */
const per = (p: Phase, groups: (CpuGroup | "s3")[]) => groups.reduce((n, g) => n + p.cpu[g], 0) / Math.max(1, p.ops);
/** The same in µs, formatted. */
const us = (p: Phase, ...groups: (CpuGroup | "s3")[]) => int(per(p, groups) * 1000);
const cores = (p: Phase) => (ALL.reduce((n, g) => n + p.cpu[g], 0) / p.elapsedMs).toFixed(2);
const share = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;

/** Where a phase's PostgreSQL connections were, most frequent first. */
function waitLine(p: Phase): string {
  const n = Object.values(p.waits).reduce((a, b) => a + b, 0);
  if (!n) return "no samples";
  return Object.entries(p.waits)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, v]) => `${k} ${share(v, n)}`)
    .join(", ");
}

/** Redis calls per operation by command, most frequent first. */
function redisLine(c: Counters, ops: number): string {
  return Object.entries(c.byCmd)
    .filter(([k]) => k !== "info")
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${(v / Math.max(1, ops)).toFixed(2)}`)
    .join(", ");
}

function report(
  topologies: readonly Topology[],
  res: Map<string, Map<string, Phase>>,
  counters: Map<string, Counters>,
  versions: string,
  floors: string[][],
): void {
  const get = (t: Topology, what: string) => res.get(t.name)?.get(what) as Phase;
  const cpuHead = [
    "CPU µs/op: server process(es)",
    "PG backends",
    "PG shared",
    "nats-server",
    "redis-server",
    "S3",
    "all",
    "cores busy",
    "PG commits/op",
  ];
  const cpuCells = (t: Topology, what: string) => {
    const p = get(t, what);
    const c = counters.get(`${what}|${t.name}`) as Counters;
    const m = (x: string) => (t.macro ? x : "—");
    return [
      us(p, "gateways"),
      m(us(p, "pgBackends")),
      m(us(p, "pgShared")),
      m(us(p, "nats")),
      m(us(p, "redis")),
      m(us(p, "s3")),
      us(p, ...ALL),
      cores(p),
      t.macro ? (c.commits / Math.max(1, p.ops)).toFixed(2) : "—",
    ];
  };
  const httpTable = (what: string, unit: string) =>
    table(
      ["Topology", `${unit} (201)`, "Seconds", `${unit}/s`, "p50 (ms)", "p99 (ms)", "Other statuses", ...cpuHead],
      topologies.map((t) => {
        const p = get(t, what);
        const other = Object.entries(p.extra.statuses as Record<string, number>).filter(([k]) => k !== "201");
        return [
          t.name,
          int(p.ops),
          ms(p.elapsedMs / 1000, 1),
          int(perSec(p)),
          ms(pct(p.lat, 0.5)),
          ms(pct(p.lat, 0.99)),
          other.length ? other.map(([k, v]) => `${v} × ${k}`).join(", ") : "none",
          ...cpuCells(t, what),
        ];
      }),
    );
  const eventTable = (what: string) =>
    table(
      [
        "Topology",
        "Events complete / sent",
        "Seconds",
        "Events/s",
        "Deliveries/s",
        "Delivery p50 (ms)",
        "Delivery p99 (ms)",
        "Ack p50 (ms)",
        ...cpuHead,
      ],
      topologies.map((t) => {
        const p = get(t, what);
        return [
          t.name,
          `${int(p.ops)} / ${int(p.extra.sent)}`,
          ms(p.elapsedMs / 1000, 1),
          int(perSec(p)),
          int((p.extra.delivered / p.elapsedMs) * 1000),
          ms(pct(p.lat, 0.5)),
          ms(pct(p.lat, 0.99)),
          ms(pct(p.extra.ackLat, 0.5)),
          ...cpuCells(t, what),
        ];
      }),
    );
  const micro = topologies[0] as Topology;
  const ratios = (what: string, unit: string) =>
    topologies
      .slice(1)
      .map((t) => {
        const [m, p] = [get(micro, what), get(t, what)];
        return `${t.name}: ${share(perSec(p), perSec(m))} of micronode's ${unit}/s at ${(per(p, ALL) / per(m, ALL)).toFixed(1)}× its CPU per operation (all processes)`;
      })
      .join("; ");
  const split = (what: string) =>
    topologies
      .filter((t) => t.macro)
      .map((t) => {
        const p = get(t, what);
        const all = per(p, ALL);
        const part = (g: (CpuGroup | "s3")[]) => share(per(p, g), all);
        return `${t.name}: server processes ${part(["gateways"])}, PostgreSQL ${part(["pgBackends", "pgShared"])}, nats-server ${part(["nats"])}, redis-server ${part(["redis"])}, S3 ${part(["s3"])}`;
      })
      .join("; ");
  const sockets = topologies.map((t) => {
    const e = [get(t, "events"), get(t, "paced")].map((p) => p.extra as EventResult);
    const last = e[1] as EventResult;
    const closes = Object.entries(last.closes);
    return (
      `${t.name}: out-of-order receipts on the surfaces ${last.outOfOrder}${last.anomalies.length ? ` (${last.anomalies.join("; ")})` : ""}; ` +
      `sockets closed ${closes.length ? closes.map(([c, n]) => `${n} × ${c}`).join(", ") : "none"}${last.errors.length ? `; error frames ${last.errors.join(" ")}` : ""}.`
    );
  });
  const where = (["writes", "serial", "deposits", "serialDeposits", "events", "paced"] as const).flatMap((what) =>
    topologies
      .filter((t) => t.macro)
      .map((t) => {
        const p = get(t, what);
        const c = counters.get(`${what}|${t.name}`) as Counters;
        return `${LABELS[what]}, ${t.name}: PostgreSQL connections ${waitLine(p)}; Redis calls/op ${redisLine(c, p.ops) || "none"}.`;
      }),
  );
  const body = [
    "Command: `npm run build && node --import tsx bench/macro.ts`",
    "",
    machine(),
    "",
    `Topology, all on this one 2-core machine, in one run: (1) **micronode**: one \`styx serve\` process on a temp data dir (SQLite, WAL); ` +
      "(2) **macronode, 1 gateway**: one `styx serve --profile macro` process of a fresh cluster; (3) **macronode, 2 gateways**: " +
      "gateways A and B of a second fresh cluster. The macronode services are the machine's own " +
      `(${versions}), shared by both clusters and by anything else running on the machine; S3 is s3rver inside the bench process. ` +
      "Each gateway uses the default PostgreSQL pool (10 connections). The load clients are forked processes of the bench on the same cores. " +
      "Every server: STYX_RATE_LIMIT and STYX_IP_RATE_LIMIT 1000000/s:1000000, STYX_MAX_EVENT_LOOP_LAG=30s (load shedding only on a 30 s stall, " +
      "so the bench measures cost, not shedding), logs at warn. The three topologies run side by side and are measured in turn, one measure at a time " +
      `(micronode, ×1, ×2), each after a ${WARMUP_S} s warm-up of the same load. Both clusters are dropped and the data dir deleted at the end.`,
    "",
    "CPU per operation: utime+stime from /proc over the phase, divided by the operations completed: the server process(es); for macronode " +
      "also the PostgreSQL backends serving the gateways' connections (matched by client port), PostgreSQL's shared processes (walwriter, " +
      "checkpointer, …), nats-server, redis-server (whole processes: shared with any other client of the machine's services) and the bench process " +
      "(the S3 server; it does nothing else during a phase). Cores busy: all of that CPU over wall time (the load client's own CPU is not included). " +
      "PG commits/op: database-wide `xact_commit` delta over the phase per operation (each autocommit statement counts one; other clients of the database count too).",
    "",
    `**Entry writes**: \`POST /v1/styx/entries\` (vault, 12 words, 384-d embedding), ${CONCURRENCY} in flight (×2: ${CONCURRENCY / 2} to A, ${CONCURRENCY / 2} to B), ${SECONDS} s.`,
    "",
    httpTable("writes", "Writes"),
    "",
    `**Entry writes one at a time** (${SERIAL_WRITES} writes, gateway A only): unloaded latency.`,
    "",
    httpTable("serial", "Writes"),
    "",
    `**Pheromone deposits**: \`POST /v1/styx/pheromone/deposit\`, each a new pheromone (fresh class, 100 domains), ${CONCURRENCY} in flight (split likewise), ${SECONDS} s.`,
    "",
    httpTable("deposits", "Deposits"),
    "",
    `**Pheromone deposits one at a time** (${SERIAL_WRITES}, gateway A only):`,
    "",
    httpTable("serialDeposits", "Deposits"),
    "",
    `**Golem events**: one golem socket on gateway A sends \`{"type":"event","id":…,"golem_id":…,"event":{"type":"golem:tick",…}}\`; ${SURFACES} sockets of ` +
      `the owner receive it (×2: 5 on A, 5 on B; the golem's own socket receives it too, not counted). An event is complete once acked and delivered to all ${SURFACES}; ` +
      `at most ${WINDOW} events incomplete at a time, ${SECONDS} s. Latency: the sender's \`performance.now()\` in the payload to receipt (sender and surfaces in one client process).`,
    "",
    eventTable("events"),
    "",
    `**Golem events at a fixed ${RATE}/s** for ${PACED_S} s (latency under a load every topology carries):`,
    "",
    eventTable("paced"),
    "",
    `Throughput and CPU against micronode: writes — ${ratios("writes", "writes")}. Deposits — ${ratios("deposits", "deposits")}. Events — ${ratios("events", "events")}.`,
    "",
    `Where the macronode's CPU goes (share of its CPU per operation): writes — ${split("writes")}. Deposits — ${split("deposits")}. Events — ${split("events")}.`,
    "",
    "Round trips from the bench process to each service, one at a time, 500 after 20 warm-up, measured after the phases in the same run:",
    "",
    table(["Round trip", "p50 (ms)", "p99 (ms)"], floors),
    "",
    "Where the macronode's time goes (pg_stat_activity of the gateways' PostgreSQL connections sampled every 20 ms: state / wait event, share of samples; " +
      "`idle in transaction / Client:ClientRead` is an open transaction waiting for the gateway's next statement; Redis calls per operation by command " +
      "from INFO commandstats, instance-wide; a rate-limit take is one EVALSHA whose Lua script runs TIME, HMGET, HSET and PEXPIRE, also counted):",
    "",
    ...where.map((w) => `- ${w}`),
    "",
    ...sockets.map((s) => `- ${s}`),
  ].join("\n");
  publishReport("Per-write and per-event cost (bench/macro.ts)", body, {
    full: FULL,
    overrides: "MACRO_*",
    section: "## Macronode vs micronode",
  });
}

const LABELS = {
  writes: "Writes",
  serial: "Writes one at a time",
  deposits: "Deposits",
  serialDeposits: "Deposits one at a time",
  events: "Events",
  paced: `Events at ${RATE}/s`,
} as const;

if (process.argv.includes("--child")) {
  serveParent(async (msg) => {
    if (msg.op === "connect") return connectEvents(msg);
    if (msg.op === "run") return runEvents(msg);
    throw new Error(`unknown op ${msg.op}`);
  });
} else {
  await main();
}
