/**
 * What tracing costs (issue 22, Deliver 4 and acceptance 5: "no cost when off"): the same routes
 * on three servers in one run, measured in interleaved rounds.
 *
 *   git worktree add --detach ../styx-base f18e257^1 && ln -s "$PWD/node_modules" ../styx-base/node_modules
 *   (cd ../styx-base && npm run build)      # the build without tracing code (main before the otel merge)
 *   npm run build && TRACING_BASE_CLI=../styx-base/dist/cli/main.js node --import tsx bench/tracing.ts   # updates docs/benchmarks.md
 *   BENCH_QUICK=1 TRACING_BASE_CLI=… node --import tsx bench/tracing.ts                                  # quick run: stdout only
 *   TRACING_OFF_CLI=<build of f18e257>/dist/cli/main.js …   # off/on from another build: tracing's merge alone against its parent
 *
 * The three columns, each a `styx serve` child on its own temp data dir (SQLite, WAL) with the
 * benchmarks' limits out of the way (bench/lib/fabric.ts), all started first:
 *   base: TRACING_BASE_CLI, the build without any tracing code (its package.json differs from
 *     this one's by the OpenTelemetry packages only, so it runs on the same node_modules);
 *   off: this build (dist/), no OTEL_EXPORTER_OTLP_ENDPOINT: tracing off;
 *   on: this build with OTEL_EXPORTER_OTLP_ENDPOINT set to an OTLP/HTTP receiver in this
 *     process (src/testing/otlp-receiver.ts; default protocol http/protobuf, every trace sampled,
 *     the SDK's default batch span processor), to show what tracing on costs.
 * Routes: GET /v1/styx/health, GET /v1/styx/me, POST /v1/styx/entries (text only: 12 words, no
 * embedding) and POST /v1/styx/pheromone/deposit (a new pheromone each), 32 keep-alive
 * connections from one forked load client (bench/lib/load-client.ts). After a warm-up of each
 * route on each server, ROUNDS rounds; in a round each route runs SECONDS on each server in turn,
 * the order rotated every round (base, off, on; off, on, base; …), so drift of the machine falls
 * on every column alike. A column's figure is the median of its rounds; the noise is the
 * round-to-round spread (half the range, as ± % of the median). "Equal within noise" is said
 * only where the difference of the medians is inside the larger of the two spreads.
 */
import { execSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { startOtlpReceiver } from "../src/testing/otlp-receiver.js";
import { cpuMs, int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import { createGolems, createUser, procCpuMs, type StyxProcess, startStyx, tempDataDir } from "./lib/fabric.js";
import { type LoadJob, type LoadResult, loadClient } from "./lib/load-client.js";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.TRACING_ROUNDS ?? (QUICK ? 3 : 5));
const SECONDS = Number(process.env.TRACING_SECONDS ?? (QUICK ? 1 : 5));
const FULL = !QUICK && ROUNDS === 5 && SECONDS === 5;
const WARMUP_S = QUICK ? 0.5 : 2;
const CONCURRENCY = 32;
const DOMAINS = 100;
const SECTION = "## The cost of one request";
const log = (m: string) => console.error(m);

const BASE_CLI = process.env.TRACING_BASE_CLI;
if (!BASE_CLI) {
  log("bench/tracing.ts needs TRACING_BASE_CLI=<a build without tracing>/dist/cli/main.js (see the header of this file).");
  process.exit(2);
}
/** The "off" and "on" build: this checkout's unless TRACING_OFF_CLI names another (e.g. the tracing merge itself, f18e257). */
const OFF_CLI = process.env.TRACING_OFF_CLI;
const git = (cli: string | undefined, args: string) =>
  execSync(`git ${args}`, { cwd: cli ? dirname(resolve(cli)) : "." })
    .toString()
    .trim();
const baseCommit = git(BASE_CLI, "rev-parse --short HEAD");
const offCommit = git(OFF_CLI, "rev-parse --short HEAD");
/** Commits between the two builds (the difference measured is all of them, not only tracing). */
const between = Number(git(OFF_CLI, `rev-list --count ${git(BASE_CLI, "rev-parse HEAD")}..HEAD`));

type Column = "base" | "off" | "on";
const COLUMNS: readonly Column[] = ["base", "off", "on"];
const ROUTES = ["GET /v1/styx/health", "GET /v1/styx/me", "POST /v1/styx/entries (text only)", "POST /v1/styx/pheromone/deposit"];

interface Target {
  readonly server: StyxProcess;
  readonly remove: () => void;
  key: string;
  golem: string;
}

/** One phase's figures. */
interface Sample {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  /** Server process CPU per answered request, µs. */
  readonly cpuUs: number;
  /** This process's CPU per request, µs (the receiver, for "on"; bookkeeping only for the others). */
  readonly benchUs: number;
  readonly bad: number;
}

const receiver = await startOtlpReceiver();
const targets = new Map<Column, Target>();
const client = loadClient();
let phaseNo = 0;

/** The job of route `r` against `t` for `seconds`. */
function job(r: number, t: Target, seconds: number): LoadJob {
  const base = { url: t.server.url, token: t.key, concurrency: CONCURRENCY, durationMs: seconds * 1000, max: 1e9 } as const;
  const phase = phaseNo++;
  if (r === 0) return { ...base, method: "GET", path: "/v1/styx/health" };
  if (r === 1) return { ...base, method: "GET", path: "/v1/styx/me" };
  if (r === 2)
    return { ...base, method: "POST", path: "/v1/styx/entries", writes: { golemId: t.golem, seed: 1000 + phase, embedding: false } };
  const n = Math.ceil(12_000 * seconds);
  const bodies = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      golem_id: t.golem,
      layer: ["threat", "opportunity", "wisdom"][i % 3],
      class: `p${phase}c${Math.floor(i / DOMAINS)}`,
      intensity: 0.5 + (i % 50) / 100,
      domain: `d${i % DOMAINS}`,
      regime: "bull",
    }),
  );
  return { ...base, method: "POST", path: "/v1/styx/pheromone/deposit", max: n, bodies };
}

async function measure(r: number, c: Column, seconds: number): Promise<Sample> {
  const t = targets.get(c) as Target;
  const j = job(r, t, seconds);
  const cpu0 = procCpuMs(t.server.pid);
  const b0 = cpuMs();
  const res: LoadResult = await client.run(j);
  const cpu = procCpuMs(t.server.pid) - cpu0;
  const bench = cpuMs() - b0;
  const ok = Object.entries(res.statuses)
    .filter(([s]) => s === "200" || s === "201")
    .reduce((n, [, v]) => n + v, 0);
  return {
    rate: (ok / res.elapsedMs) * 1000,
    p50: pct(res.lat, 0.5),
    p99: pct(res.lat, 0.99),
    cpuUs: (cpu * 1000) / Math.max(1, ok),
    benchUs: (bench * 1000) / Math.max(1, ok),
    bad: res.sent - ok,
  };
}

const median = (xs: readonly number[]) => pct(xs, 0.5);
/** Half the range of `xs` as a share of their median. */
const spread = (xs: readonly number[]) => (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs);
const pctText = (x: number) => `${(x * 100).toFixed(1)} %`;
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${(Math.abs(x) * 100).toFixed(1)} %`;

/** Δ of `a`'s median against `b`'s and whether it is inside the larger spread. */
function verdict(a: readonly number[], b: readonly number[]): string {
  const d = median(a) / median(b) - 1;
  const noise = Math.max(spread(a), spread(b));
  return `${signed(d)} (noise ±${pctText(noise)}): ${Math.abs(d) <= noise ? "equal within noise" : "outside the noise"}`;
}

const samples = new Map<string, Sample[]>();
const key = (r: number, c: Column) => `${r}|${c}`;
const t0 = Date.now();
try {
  for (const c of COLUMNS) {
    const d = tempDataDir(`styx-bench-tracing-${c}-`);
    const env: Record<string, string> = c === "on" ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } : {};
    const cli = c === "base" ? BASE_CLI : OFF_CLI;
    const server = await startStyx({ dataDir: d.dir, env, ...(cli ? { cli } : {}) });
    const u = await createUser(server.url, `tracing-${c}`);
    const [golem] = await createGolems(server.url, u.key, 1);
    targets.set(c, { server, remove: d.remove, key: u.key, golem: golem as string });
  }
  log("tracing: warm-up…");
  for (let r = 0; r < ROUTES.length; r++) for (const c of COLUMNS) await measure(r, c, WARMUP_S);
  for (let round = 0; round < ROUNDS; round++) {
    for (let r = 0; r < ROUTES.length; r++) {
      for (let k = 0; k < COLUMNS.length; k++) {
        const c = COLUMNS[(k + round) % COLUMNS.length] as Column;
        const s = await measure(r, c, SECONDS);
        const list = samples.get(key(r, c)) ?? [];
        list.push(s);
        samples.set(key(r, c), list);
        log(`tracing: round ${round + 1}: ${ROUTES[r]}: ${c}: ${int(s.rate)}/s, p99 ${ms(s.p99)} ms, ${ms(s.cpuUs, 0)} µs CPU/req`);
      }
    }
  }
} finally {
  client.close();
  for (const t of targets.values()) {
    await t.server.stop();
    t.remove();
  }
  await receiver.close();
}

const totalS = (Date.now() - t0) / 1000;
const of = (r: number, c: Column) => samples.get(key(r, c)) ?? [];
const rows: string[][] = [];
for (let r = 0; r < ROUTES.length; r++) {
  for (const c of COLUMNS) {
    const s = of(r, c);
    const rates = s.map((x) => x.rate);
    const cpus = s.map((x) => x.cpuUs);
    const vsBase =
      c === "base"
        ? ""
        : verdict(
            rates,
            of(r, "base").map((x) => x.rate),
          );
    const cpuVsBase =
      c === "base"
        ? ""
        : verdict(
            cpus,
            of(r, "base").map((x) => x.cpuUs),
          );
    rows.push([
      c === "base" ? (ROUTES[r] as string) : "",
      c,
      `${int(median(rates))} ± ${pctText(spread(rates))}`,
      rates.map(int).join(", "),
      ms(median(s.map((x) => x.p50))),
      ms(median(s.map((x) => x.p99))),
      `${ms(median(cpus), 0)} ± ${pctText(spread(cpus))}`,
      vsBase,
      cpuVsBase,
      ms(median(s.map((x) => x.benchUs)), 0),
    ]);
  }
}
const bad = [...samples.values()].flat().reduce((n, s) => n + s.bad, 0);
const exported = receiver.protobuf;
const onRequests = [...samples.entries()]
  .filter(([k]) => k.endsWith("|on"))
  .flatMap(([, s]) => s)
  .reduce((n, s) => n + s.rate * SECONDS, 0);

const body = [
  `Command: \`npm run build && TRACING_BASE_CLI=<build of ${baseCommit}>/dist/cli/main.js ` +
    `${OFF_CLI ? `TRACING_OFF_CLI=<build of ${offCommit}>/dist/cli/main.js ` : ""}node --import tsx bench/tracing.ts\` ` +
    "(quick: `BENCH_QUICK=1`, stdout only). The header of bench/tracing.ts says how to make the base build.",
  "",
  `${machine()} Whole run: ${ms(totalS, 0)} s.`,
  "",
  `Columns, all \`styx serve\` children on temp data dirs (SQLite, WAL), started together: **base** = commit ${baseCommit}, ` +
    "the build without any tracing code (main before the OpenTelemetry merge f18e257, same node_modules); **off** = commit " +
    `${offCommit} (${between} commits after base: a difference is theirs, not only tracing's), ` +
    "OTEL_EXPORTER_OTLP_ENDPOINT unset; **on** = the same build exporting to an OTLP/HTTP receiver in the bench " +
    "process (http/protobuf, every trace sampled, the SDK's default batch span processor). " +
    `${CONCURRENCY} keep-alive connections from one forked client; ${ROUNDS} rounds of ${SECONDS} s per route and column ` +
    "after a warm-up, interleaved (each route runs on the three servers in turn, the order rotated every round). " +
    "Rate: answered requests (200/201) per second, median of the rounds ± half the round-to-round range; the rounds " +
    "in order; latency p50/p99 and the server's CPU per request (/proc, all its threads) are medians of the rounds. " +
    "Δ vs base: the column's median against base's, and whether it lies inside the larger of the two spreads (the noise). " +
    "Writes are text only (12 words, no embedding); deposits create a new pheromone each.",
  "",
  table(
    [
      "Route",
      "Column",
      "req/s",
      "Rounds (req/s)",
      "p50 (ms)",
      "p99 (ms)",
      "Server CPU µs/req",
      "Rate Δ vs base",
      "CPU/req Δ vs base",
      "Bench process µs/req",
    ],
    rows,
  ),
  "",
  `Tracing on exported ${int(exported.exports)} OTLP requests, ${ms(exported.bytes / 1024 / 1024, 1)} MiB ` +
    `(${ms(exported.bytes / Math.max(1, onRequests), 0)} bytes per measured request, warm-up excluded from the divisor). ` +
    "The bench process's CPU per request is the receiver's cost for **on** (and bookkeeping for the others). " +
    `Requests not answered 200/201 in all phases: ${int(bad)}.`,
].join("\n");
publishReport("Tracing off, on, and the build without it (bench/tracing.ts)", body, {
  full: FULL,
  overrides: "BENCH_QUICK/TRACING_ROUNDS/TRACING_SECONDS",
  section: SECTION,
});
process.exit(0);
