/**
 * The measured load phases of bench/macro.ts: entry writes and pheromone deposits over HTTP from
 * forked keep-alive clients (bench/lib/load-client.ts), golem events through the socket client
 * (bench/lib/macro-sockets.ts). Each runs between two CPU samples of the topology's processes
 * (bench/lib/service-cpu.ts, plus the S3 server's child process: bench/lib/s3-child.ts) and, on
 * macronode, with the gateways' PostgreSQL connections sampled (by this process, whose CPU counts
 * nowhere: the samplers are the bench's, not the topology's).
 */
import type postgres from "postgres";
import { type Json, procCpuMs } from "./fabric.js";
// Types only: load-client.ts answers the first message of any process started with --child, bench/macro.ts's child included.
import type { LoadJob, LoadResult } from "./load-client.js";
import { sampleWaits } from "./macro-services.js";
import type { EventResult, RunRequest, SocketClient } from "./macro-sockets.js";
import { pids, type ServerProcess, type Topology } from "./macro-topology.js";
import { type CpuGroup, cpuDelta, sampleCpu } from "./service-cpu.js";

/** CPU ms per group over a phase; "s3" is the S3 server's process. */
export type Cpu = Record<CpuGroup | "s3", number>;

/** One measured phase of one topology: CPU ms per group over the phase, and the phase's numbers. */
export interface Phase {
  readonly ops: number;
  readonly elapsedMs: number;
  readonly cpu: Cpu;
  readonly lat: number[];
  /** Macronode: samples of the gateways' PostgreSQL connections by state and wait event. */
  readonly waits: Record<string, number>;
  readonly extra: Json;
}

/** What the phases sample besides the topology's processes: PostgreSQL's activity through `sql`, the S3 server's CPU. */
export interface Probes {
  readonly sql: postgres.Sql;
  /** The S3 server's process (bench/lib/s3-child.ts). */
  readonly s3Pid: number;
}

/** Runs `body` between two CPU samples of `t`'s processes and the S3 server's (and, on macronode, samples PostgreSQL's waits). */
async function measured<T>(
  { sql, s3Pid }: Probes,
  t: Topology,
  body: () => Promise<T>,
): Promise<{ r: T; cpu: Cpu; waits: Record<string, number> }> {
  const waits = t.macro ? sampleWaits(sql, pids(t)) : undefined;
  const before = sampleCpu(pids(t));
  const s0 = procCpuMs(s3Pid);
  const r = await body();
  const s3 = procCpuMs(s3Pid) - s0;
  const d = cpuDelta(before, sampleCpu(pids(t)));
  const cpu = t.macro ? { ...d, s3 } : { ...d, pgBackends: 0, pgShared: 0, nats: 0, redis: 0, s3: 0 };
  return { r, cpu, waits: (await waits?.stop()) ?? {} };
}

/** `job` split over the topology's servers (concurrency shared out), run at once; results merged. */
async function httpLoad(servers: readonly ServerProcess[], job: (server: number, url: string) => LoadJob): Promise<LoadResult> {
  const { runLoad } = await import("./load-client.js");
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

/**
 * POSTs to `path` for `seconds`, `concurrency` in flight over the topology's servers (one at a
 * time: on the first server only); `rest(i, n)` completes server i's job of n. Operations: the 201s.
 */
async function posts(
  probes: Probes,
  t: Topology,
  concurrency: number,
  seconds: number,
  path: string,
  rest: (server: number, servers: number) => Pick<LoadJob, "concurrency" | "max" | "writes" | "bodies">,
): Promise<Phase> {
  const servers = concurrency === 1 ? t.servers.slice(0, 1) : t.servers;
  const { r, cpu, waits } = await measured(probes, t, () =>
    httpLoad(servers, (i, url) => ({ url, token: t.key, method: "POST", path, durationMs: seconds * 1000, ...rest(i, servers.length) })),
  );
  const ops = r.statuses["201"] ?? 0;
  return { ops, elapsedMs: r.elapsedMs, cpu, lat: r.lat, waits, extra: { statuses: r.statuses, clientCpuMs: r.clientCpuMs } };
}

/** The phases, sampling through `probes` and sending events through `client`. */
export function loadPhases(probes: Probes, client: SocketClient) {
  let depositRound = 0;
  return {
    /** Entry writes (at most `max`, split over the servers), each server's golem and seed its own. */
    writes(t: Topology, concurrency: number, seconds: number, max: number, seed: number): Promise<Phase> {
      return posts(probes, t, concurrency, seconds, "/v1/styx/entries", (i, n) => ({
        concurrency: Math.max(1, concurrency / n),
        max: Math.ceil(max / n),
        writes: { golemId: t.golems[i] as string, seed: seed + i },
      }));
    },

    /** Deposits of new pheromones (fresh classes over 100 domains), like `writes`. */
    deposits(t: Topology, concurrency: number, seconds: number, max: number): Promise<Phase> {
      const round = depositRound++;
      const per = Math.min(max, 8_000 * seconds);
      return posts(probes, t, concurrency, seconds, "/v1/styx/pheromone/deposit", (g, n) => ({
        concurrency: concurrency / n,
        max: per,
        bodies: Array.from({ length: per }, (_, i) =>
          JSON.stringify({
            golem_id: t.golems[i % t.golems.length],
            layer: ["threat", "opportunity", "wisdom"][i % 3],
            class: `r${round}g${g}c${Math.floor(i / 100)}`,
            intensity: 0.5 + (i % 50) / 100,
            domain: `d${i % 100}`,
            regime: "bull",
          }),
        ),
      }));
    },

    /** Golem events from the topology's sender to its surfaces (window or rate). */
    async events(t: Topology, msg: Omit<RunRequest, "key">): Promise<Phase> {
      const run: RunRequest = { key: t.name, ...msg };
      const { r, cpu, waits } = await measured(probes, t, () => client.request<EventResult>({ op: "run", ...run }));
      return { ops: r.completed, elapsedMs: r.elapsedMs, cpu, lat: r.lat, waits, extra: r };
    },
  };
}
