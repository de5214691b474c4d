/**
 * The report of bench/macro.ts: a table per measure (throughput, latency, CPU per operation by
 * process group), throughput and CPU against micronode, where the macronode's CPU and time go,
 * the services' round trips and the sockets' health; printed, and on a full run written to
 * docs/benchmarks.md "## Macronode vs micronode".
 */
import { int, machine, ms, pct, publishReport, table } from "./common.js";
import type { Phase } from "./macro-load.js";
import type { Counters } from "./macro-services.js";
import type { EventResult } from "./macro-sockets.js";
import type { Topology } from "./macro-topology.js";
import type { CpuGroup } from "./service-cpu.js";

/** The run's settings, as the text states them. */
export interface ReportSettings {
  readonly FULL: boolean;
  readonly SECONDS: number;
  readonly RATE: number;
  readonly WARMUP_S: number;
  readonly PACED_S: number;
  readonly CONCURRENCY: number;
  readonly SERIAL_WRITES: number;
  readonly SURFACES: number;
  readonly WINDOW: number;
}

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

/**
 * Prints the report (and writes it on a full run): `res` and `counters` keyed by topology name and
 * measure, `versions` the services' line, `floors` the round-trip rows.
 */
export function report(
  topologies: readonly Topology[],
  res: Map<string, Map<string, Phase>>,
  counters: Map<string, Counters>,
  versions: string,
  floors: string[][],
  settings: ReportSettings,
): void {
  const { FULL, SECONDS, RATE, WARMUP_S, PACED_S, CONCURRENCY, SERIAL_WRITES, SURFACES, WINDOW } = settings;
  const LABELS = {
    writes: "Writes",
    serial: "Writes one at a time",
    deposits: "Deposits",
    serialDeposits: "Deposits one at a time",
    events: "Events",
    paced: `Events at ${RATE}/s`,
  } as const;
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
      `(${versions}), shared by both clusters and by anything else running on the machine; S3 is s3rver in a child process of the bench. ` +
      "Each gateway uses the default PostgreSQL pool (10 connections). The load clients are forked processes of the bench on the same cores. " +
      "Every server: STYX_RATE_LIMIT and STYX_IP_RATE_LIMIT 1000000/s:1000000, STYX_MAX_EVENT_LOOP_LAG=30s (load shedding only on a 30 s stall, " +
      "so the bench measures cost, not shedding), logs at warn. The three topologies run side by side and are measured in turn, one measure at a time " +
      `(micronode, ×1, ×2), each after a ${WARMUP_S} s warm-up of the same load. Both clusters are dropped and the data dir deleted at the end.`,
    "",
    "CPU per operation: utime+stime from /proc over the phase, divided by the operations completed: the server process(es); for macronode " +
      "also the PostgreSQL backends serving the gateways' connections (matched by client port), PostgreSQL's shared processes (walwriter, " +
      "checkpointer, …), nats-server, redis-server (whole processes: shared with any other client of the machine's services) and the S3 server's " +
      "process (the bench's own samplers, pg_stat_activity every 20 ms and /proc, count nowhere). Cores busy: all of that CPU over wall time (the load client's own CPU is not included). " +
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
