/**
 * Durable single-entry writes and deposits on a micronode (SQLite data dir, WAL), SPEC §14, each
 * against a baseline measured in the same run:
 *   - text-only single writes over HTTP ≥ 50 % of the `GET /v1/styx/me` rate;
 *   - single writes with a 384-d embedding ≥ 80 % of the rate at which the vector index alone
 *     absorbs the same vectors (the usearch worker fed directly, measured here);
 *   - deposits over HTTP ≥ 60 % of the `GET /v1/styx/me` rate.
 *
 *   npm run build && node --import tsx bench/writes.ts        # updates docs/benchmarks.md
 *   WRITES_MAX=5000 WRITES_SECONDS=3 node --import tsx bench/writes.ts   # quick run: stdout only
 *
 * HTTP rows: Styx in this process (the test server: rate limits and quotas out of the way), the
 * client a forked keep-alive load generator (bench/lib/load-client.ts), 32 requests in flight,
 * WRITES_SECONDS (10) or WRITES_MAX (50,000) requests, a fresh data dir per write route. Each row
 * reports the main thread's CPU per request (its /proc task entry: the event loop alone) and
 * the whole process's (the index and checkpoint threads too). After each single-write row every
 * acknowledged id is looked up through a second SQLite connection, and one more entry is written
 * and queried at once (lexical or by vector: it must be the top hit). In-process rows split the
 * cost of a write into service, store and schema, as before. Last, "where a request's time
 * goes": each route again under V8's sampling profiler (node:inspector), self time per area.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openDatabase } from "../src/adapters/sqlite/database.js";
import { cpuMs, int, machine, mainThreadCpuMs, ms, pct, publishReport, table, timedLoop } from "./lib/common.js";
import { type ProfileSummary, profiled } from "./lib/cpu-profile.js";
import { type LoadJob, type LoadResult, loadClient } from "./lib/load-client.js";
import { absorbAlone, depositBodies, httpChecks } from "./lib/write-checks.js";
import { ENTRY_DEFAULTS, HASH, inputs, server } from "./lib/write-inputs.js";

const MAX = Number(process.env.WRITES_MAX ?? 50_000);
const SECONDS = Number(process.env.WRITES_SECONDS ?? 10);
const PROFILE_SECONDS = Number(process.env.WRITES_PROFILE_SECONDS ?? Math.min(5, SECONDS));
const FULL = MAX === 50_000 && SECONDS === 10;
const CONCURRENCY = 32;
/** The batch route: entries per request and connections (at most 512 entries in flight). */
const BATCH = 64;
const BATCH_CONCURRENCY = 8;

const RAW_NAMES = {
  plain: "(d) baseline: raw better-sqlite3 INSERT, plain table, 1 txn/row, WAL, sync=NORMAL",
  styx: "(e) raw better-sqlite3 INSERT into the Styx schema (its indexes, FTS queue row), 1 txn/row",
};

type Row = { name: string; n: number; s: number; lat: number[]; mainUs?: number; procUs?: number; goal?: string };
type Server = Awaited<ReturnType<typeof server>>;

const client = loadClient();
// The compiled module the server runs (write-inputs.ts starts dist/'s server): its group-commit counters.
const turnModule = "../dist/adapters/sqlite/turn-transaction.js";
// A build without group commit (to measure an older commit) has none: its rows say so.
const turnStats = await import(turnModule).then(
  (m: typeof import("../src/adapters/sqlite/turn-transaction.js")) => m.turnStats,
  () => undefined,
);
const loop = (one: (i: number) => unknown) => timedLoop(one, MAX, SECONDS * 1000);
const rate = (r: { n: number; s: number }) => r.n / r.s;

/** One HTTP load on `srv` with the CPU it cost this process (main thread and all threads), per request. */
async function measured(
  srv: Server,
  job: Omit<LoadJob, "url" | "token" | "concurrency" | "max" | "durationMs"> & { max?: number; concurrency?: number },
) {
  const main0 = mainThreadCpuMs();
  const all0 = cpuMs();
  const t0 = { groups: turnStats?.groups ?? 0, writes: turnStats?.writes ?? 0 };
  const r = await client.run({ url: srv.s.url, token: srv.key, concurrency: CONCURRENCY, max: MAX, durationMs: SECONDS * 1000, ...job });
  const mainMs = mainThreadCpuMs() - main0;
  const allMs = cpuMs() - all0;
  const groups = (turnStats?.groups ?? 0) - t0.groups;
  const writes = (turnStats?.writes ?? 0) - t0.writes;
  const grouped =
    groups > 0
      ? `${int(groups)} group commits held ${int(writes)} writes (${ms(writes / Math.max(1, groups), 1)} a commit)`
      : "no group commit";
  return { r, mainMs, allMs, grouped };
}

function httpRow(name: string, m: { r: LoadResult; mainMs: number; allMs: number }, n: number, goal?: string): Row {
  return { name, n, s: m.r.elapsedMs / 1000, lat: m.r.lat, mainUs: (m.mainMs * 1000) / n, procUs: (m.allMs * 1000) / n, goal };
}

const okCount = (r: LoadResult, status: string) => r.statuses[status] ?? 0;

const rows: Row[] = [];
const checks: string[] = [];
const log = (m: string) => console.error(`writes: ${m}`);

// Baseline and text-only writes on one fresh server.
log("GET /v1/styx/me (baseline), text-only single writes…");
const a = await server();
const me = await measured(a, { method: "GET", path: "/v1/styx/me" });
const meRow = httpRow(`baseline: GET /v1/styx/me, ${CONCURRENCY} keep-alive connections`, me, okCount(me.r, "200"));
rows.push(meRow);
const text = await measured(a, {
  method: "POST",
  path: "/v1/styx/entries",
  keep: true,
  writes: { golemId: a.golemId, seed: 5, embedding: false },
});
const textCheck = await httpChecks(a, text.r, "text");
const textRate = rate({ n: textCheck.acked, s: text.r.elapsedMs / 1000 });
rows.push(
  httpRow(
    `(a) HTTP POST /v1/styx/entries, text-only, ${CONCURRENCY} connections`,
    text,
    textCheck.acked,
    ratioGoal(textRate, rate(meRow), 0.5, "/me"),
  ),
);
checks.push(`(a): ${textCheck.line} ${text.grouped}.`);
await a.s.close();

log("single writes with embeddings…");
const b = await server();
const vec = await measured(b, { method: "POST", path: "/v1/styx/entries", keep: true, writes: { golemId: b.golemId, seed: 7 } });
const vecCheck = await httpChecks(b, vec.r, "vector");
await b.s.close();
log("the vector index alone, the same vectors…");
const alone = await absorbAlone(b.golemId, 7, vecCheck.acked);
const vecRate = rate({ n: vecCheck.acked, s: vec.r.elapsedMs / 1000 });
rows.push(
  httpRow(
    `(a1) HTTP POST /v1/styx/entries, 384-d embedding, ${CONCURRENCY} connections`,
    vec,
    vecCheck.acked,
    ratioGoal(vecRate, alone.rate, 0.8, "the index alone"),
  ),
);
rows.push({
  name: `baseline: the vector index alone (usearch worker), the same ${int(alone.n)} vectors in batches of 64`,
  n: alone.n,
  s: alone.s,
  lat: [],
});
checks.push(`(a1): ${vecCheck.line} ${vec.grouped}.`);

log("batch writes…");
const c = await server();
const batch = await measured(c, {
  method: "POST",
  path: "/v1/styx/entries/batch",
  keep: true,
  concurrency: BATCH_CONCURRENCY,
  max: Math.ceil(MAX / BATCH),
  writes: { golemId: c.golemId, seed: 9, batch: BATCH },
});
const batchCheck = await httpChecks(c, batch.r, "vector");
rows.push(
  httpRow(`(a2) HTTP POST /v1/styx/entries/batch, ${BATCH} entries per request, ${BATCH_CONCURRENCY} connections`, batch, batchCheck.acked),
);
checks.push(`(a2): ${batchCheck.line} ${batch.grouped}.`);
await c.s.close();

log("deposits…");
const d = await server();
const deposits = await measured(d, { method: "POST", path: "/v1/styx/pheromone/deposit", bodies: depositBodies(d.golemId, MAX) });
const depRow = httpRow(
  `(p) HTTP POST /v1/styx/pheromone/deposit, new pheromones, ${CONCURRENCY} connections`,
  deposits,
  okCount(deposits.r, "201"),
  ratioGoal(okCount(deposits.r, "201") / (deposits.r.elapsedMs / 1000), rate(meRow), 0.6, "/me"),
);
rows.push(depRow);
checks.push(`(p): HTTP statuses ${JSON.stringify(deposits.r.statuses)}; ${deposits.grouped}.`);
await d.s.close();

log("in process…");
await serviceVariant(rows);
await storeVariant(rows);
await rawVariant(rows, "plain");
await rawVariant(rows, "styx");

log("profiles…");
const profiles = await profileRoutes();
client.close();

function ratioGoal(value: number, baseline: number, share: number, of: string): string {
  const got = value / baseline;
  return `≥ ${Math.round(share * 100)} % of ${of}: ${got >= share ? "met" : "missed"} (${Math.round(got * 100)} %)`;
}

async function serviceVariant(out: Row[]): Promise<void> {
  const { s, golemId } = await server();
  const golem = await s.styx.storage.identity.getGolem(golemId);
  if (!golem) throw new Error("golem missing");
  const next = inputs(11);
  const r = await loop((i) => {
    const { content, embedding } = next(i);
    return s.styx.knowledge.service.write({ golem, layer: "vault", category: "insight", confidence: 0.5, content, embedding });
  });
  out.push({ name: "(b) KnowledgeService.write in-process (no HTTP), one at a time", ...r });
  await s.styx.knowledge.vectors.flush();
  await s.close();
}

async function storeVariant(out: Row[]): Promise<void> {
  const { s, golemId } = await server();
  const golem = await s.styx.storage.identity.getGolem(golemId);
  if (!golem) throw new Error("golem missing");
  const next = inputs(13);
  const r = await loop((i) => {
    const { id, content, blob } = next(i);
    const e = { id, userId: golem.userId, golemId, category: "insight" as const, content, contentHash: HASH, createdAt: Date.now() };
    return s.styx.storage.entries.insert({ ...e, ...ENTRY_DEFAULTS, embedding: new Float32Array(blob.buffer, blob.byteOffset, 384) });
  });
  out.push({ name: "(c) SqliteEntryStore.insert in-process (store only), one at a time", ...r });
  await s.close();
}

/** Raw prepared INSERTs, one auto-committed transaction per row: a plain table (d) or the migrated Styx schema (e). */
async function rawVariant(out: Row[], schema: "plain" | "styx"): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "styx-raw-"));
  const file = join(dir, "raw.db");
  const db = schema === "styx" ? openDatabase(file) : new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  if (schema === "plain") {
    db.exec(`CREATE TABLE entries (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, user_id TEXT NOT NULL, golem_id TEXT NOT NULL, category TEXT NOT NULL,
      content TEXT NOT NULL, content_hash TEXT NOT NULL, embedding BLOB, confidence REAL NOT NULL, metadata TEXT NOT NULL, in_clade INTEGER NOT NULL,
      created_at INTEGER NOT NULL) STRICT`);
  }
  const insert =
    db.prepare(`INSERT INTO entries (id, user_id, golem_id, category, content, content_hash, embedding, confidence, metadata, in_clade, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const next = inputs(17);
  const r = await loop((i) => {
    const { id, content, blob } = next(i);
    insert.run(id, "u", "bench-golem", "insight", content, HASH, blob, 0.5, "{}", 0, Date.now());
  });
  out.push({ name: RAW_NAMES[schema], ...r });
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Each route again, PROFILE_SECONDS under the sampling profiler: main-thread self time per request. */
async function profileRoutes(): Promise<{ route: string; perReq: number; mainUs: number; summary: ProfileSummary }[]> {
  const p = await server();
  const routes: [string, Omit<LoadJob, "url" | "token" | "concurrency" | "max" | "durationMs">][] = [
    ["GET /v1/styx/me", { method: "GET", path: "/v1/styx/me" }],
    [
      "POST /v1/styx/entries, text-only",
      { method: "POST", path: "/v1/styx/entries", writes: { golemId: p.golemId, seed: 21, embedding: false } },
    ],
    ["POST /v1/styx/entries, 384-d embedding", { method: "POST", path: "/v1/styx/entries", writes: { golemId: p.golemId, seed: 23 } }],
    ["POST /v1/styx/pheromone/deposit", { method: "POST", path: "/v1/styx/pheromone/deposit", bodies: depositBodies(p.golemId, MAX) }],
  ];
  const out: { route: string; perReq: number; mainUs: number; summary: ProfileSummary }[] = [];
  for (const [route, job] of routes) {
    const main0 = mainThreadCpuMs();
    const { result, summary } = await profiled(() =>
      client.run({ url: p.s.url, token: p.key, concurrency: CONCURRENCY, max: MAX, durationMs: PROFILE_SECONDS * 1000, ...job }),
    );
    out.push({ route, perReq: result.sent, mainUs: ((mainThreadCpuMs() - main0) * 1000) / result.sent, summary });
  }
  await p.s.close();
  return out;
}

function profileBlock(): string[] {
  const us = (v: number, n: number) => `${ms((v * 1000) / n, 0)} µs`;
  return profiles.flatMap(({ route, perReq: n, mainUs, summary }) => {
    const busy = summary.areas.filter(([a]) => a !== "(idle)");
    const areas = busy.slice(0, 8).map(([a, v]) => `${a} ${us(v, n)}`);
    const natives = summary.natives.slice(0, 6).map(([f, v]) => `\`${f}\` ${us(v, n)}`);
    const fns = summary.functions.filter(([f]) => !f.startsWith("native ") && !f.startsWith("(")).slice(0, 6);
    return [
      `- **${route}** (${int(n)} requests; main thread ${ms(mainUs, 0)} µs of CPU a request): ${areas.join(", ")}.`,
      `  Natives by caller: ${natives.join(", ")}. JavaScript: ${fns.map(([f, v]) => `\`${f}\` ${us(v, n)}`).join(", ")}.`,
    ];
  });
}

const cells = (r: Row) => [
  r.name,
  int(r.n),
  ms(r.s, 1),
  int(rate(r)),
  r.lat.length ? ms(pct(r.lat, 0.5), 3) : "—",
  r.lat.length ? ms(pct(r.lat, 0.99), 3) : "—",
  r.mainUs === undefined ? "" : ms(r.mainUs, 0),
  r.procUs === undefined ? "" : ms(r.procUs, 0),
  r.goal ?? "",
];
const head = [
  "Variant",
  "Requests",
  "Seconds",
  "Per second",
  "p50 (ms)",
  "p99 (ms)",
  "Main thread CPU/req (µs)",
  "Process CPU/req (µs)",
  "SPEC goal",
];
const body = [
  "Command: `npm run build && node --import tsx bench/writes.ts`",
  "",
  machine(),
  "",
  `HTTP rows: Styx in the bench process, a forked keep-alive client on the same 2 cores, ${CONCURRENCY} requests in flight (the batch route: ${BATCH_CONCURRENCY} of ${BATCH} entries), ` +
    `${SECONDS} s or ${int(MAX)} requests each, a fresh data dir per write route; latency measured in the client, queueing included. ` +
    "Entries: layer vault, category insight, confidence 0.5, 12 words; with a 384-d clustered embedding (4 fresh random components each, so all differ) or without (text-only). " +
    "Deposits: new pheromones (100 domains, 3 layers, a class per 100). CPU per request: the main thread's own (/proc task entry: the event loop) and the whole process's " +
    "(with the vector index and checkpoint threads). The index alone: the vectors of (a1), rebuilt from the client's seed, put through VectorSearch into a fresh usearch worker " +
    "(batches of 64, one thread), from the first put to the last batch absorbed. In-process rows run one write at a time, inputs prepared before the clock.",
  "",
  table(head, rows.map(cells)),
  "",
  ...checks.map((x) => `- ${x}`),
  "",
  `Where a request's time goes (each route again for ${PROFILE_SECONDS} s under V8's sampling profiler, 1 ms, main thread; self time per request by area, ` +
    "then native frames by their nearest caller in our code and the heaviest JavaScript functions; samples are wall time, so a frame the thread was preempted in " +
    "(often `native writev`, waking the client) carries that wait too):",
  "",
  ...profileBlock(),
].join("\n");
publishReport("Writes (bench/writes.ts)", body, { full: FULL, overrides: "WRITES_MAX/WRITES_SECONDS" });
