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
 * over the local PostgreSQL, NATS JetStream and Redis and an S3 server (s3rver, in a child process:
 * bench/lib/s3-child.ts). Measures, each MACRO_SECONDS (10) per topology after a short warm-up:
 *   entry writes: POST /v1/styx/entries (384-d embedding, 12 words), 32 in flight (×2: 16 to A,
 *     16 to B), from a forked keep-alive client; plus the same one at a time (unloaded latency);
 *   pheromone deposits: POST /v1/styx/pheromone/deposit, new keys, 32 in flight (split likewise);
 *   golem events: one golem socket on A sends `{type:"event",id,…}` (golem:tick), at most 200
 *     events outstanding (outstanding until acked and delivered to every surface), to 10 sockets
 *     of the owner (×2: 5 on A, 5 on B); then a paced phase at MACRO_RATE (500) events/s.
 * CPU per operation: /proc utime+stime deltas of the server processes and, for macronode, of the
 * PostgreSQL backends serving the gateways, PostgreSQL's shared processes, nats-server and
 * redis-server (bench/lib/service-cpu.ts), and of the S3 server (s3rver in a child process of its
 * own; the bench process's samplers count nowhere).
 *
 * This file is the run: settings, phases in order, clean-up. The parts are in bench/lib/:
 * macro-topology.ts (the servers and topologies), macro-load.ts (the measured phases),
 * macro-sockets.ts (the forked socket client), macro-services.ts (counters, waits and round
 * trips asked of the services), macro-report.ts (the tables and text).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import postgres from "postgres";
import { dropClusters, newCluster, SERVICES } from "../src/testing/services.js";
import { int, ms, pct } from "./lib/common.js";
import { forkChild } from "./lib/fabric.js";
import { loadPhases, type Phase } from "./lib/macro-load.js";
import { report } from "./lib/macro-report.js";
import { type Counters, countersDelta, serviceCounters, serviceFloors } from "./lib/macro-services.js";
import { type SocketClient, serveSockets } from "./lib/macro-sockets.js";
import { populate, type ServerProcess, startTopologies, stopServers, type Topology, warnings } from "./lib/macro-topology.js";
import { type S3Child, startS3Child } from "./lib/s3-child.js";

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
const FILE = fileURLToPath(import.meta.url);
const log = (m: string) => console.error(m);

async function main(): Promise<void> {
  const clusters = [newCluster(), newCluster()];
  const dataDir = mkdtempSync(join(tmpdir(), "styx-bench-macro-"));
  let s3: S3Child | undefined;
  const servers: ServerProcess[] = [];
  const sql = postgres(SERVICES.databaseUrl, { max: 2, onnotice: () => {} });
  const redis = new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: 1 });
  let client: SocketClient | undefined;
  try {
    s3 = await startS3Child();
    const topologies: Topology[] = await startTopologies(dataDir, clusters, s3, servers);
    client = forkChild(FILE);
    await populate(topologies, client, GOLEMS, SURFACES);
    const load = loadPhases({ sql, s3Pid: s3.pid }, client);
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
    for (const t of topologies) await load.writes(t, CONCURRENCY, WARMUP_S, 1e9, seed++);
    for (const t of topologies) await phase("writes", t, () => load.writes(t, CONCURRENCY, SECONDS, 1e9, seed++));
    for (const t of topologies) await phase("serial", t, () => load.writes(t, 1, 60, SERIAL_WRITES, seed++));
    for (const t of topologies) await load.deposits(t, CONCURRENCY, WARMUP_S, 1e9);
    for (const t of topologies) await phase("deposits", t, () => load.deposits(t, CONCURRENCY, SECONDS, 1e9));
    for (const t of topologies) await phase("serialDeposits", t, () => load.deposits(t, 1, 60, SERIAL_WRITES));
    for (const t of topologies) await load.events(t, { durationMs: WARMUP_S * 1000, window: WINDOW });
    for (const t of topologies) await phase("events", t, () => load.events(t, { durationMs: SECONDS * 1000, window: WINDOW }));
    for (const t of topologies) await phase("paced", t, () => load.events(t, { durationMs: PACED_S * 1000, rate: RATE }));
    const [pgv] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    const redisV = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1];
    const floors = await serviceFloors(sql, redis, clusters[0] as string);
    report(
      topologies,
      res,
      counters,
      `PostgreSQL ${pgv?.v.split(" ")[0]}, NATS ${floors.natsVersion} with JetStream, Redis ${redisV}`,
      floors.rows,
      { FULL, SECONDS, RATE, WARMUP_S, PACED_S, CONCURRENCY, SERIAL_WRITES, SURFACES, WINDOW },
    );
  } finally {
    client?.end();
    await stopServers(servers);
    await s3?.close();
    await sql.end({ timeout: 5 });
    redis.disconnect();
    const dropped = await dropClusters((c) => clusters.includes(c));
    log(`macro: dropped clusters ${dropped.join(", ") || "none"}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const noisy = warnings(servers);
  if (noisy.length) log(`macro: ${noisy.length} warning/error log lines, first: ${noisy.slice(0, 3).join("\n")}`);
}

// The forked child is the socket client; lib/load-client.ts is loaded lazily, in the parent only
// (it answers the first message of any process started with --child).
if (process.argv.includes("--child")) serveSockets();
else await main();
