/**
 * Durable entry writes with 384-d embeddings on a micronode (SQLite data dir, WAL), SPEC §14:
 * "writes with embeddings (micronode, durable, immediately queryable) ≥ 5,000 entries/s".
 *
 *   npm run build && node --import tsx bench/writes.ts        # updates docs/benchmarks.md
 *   WRITES_MAX=5000 WRITES_SECONDS=3 node --import tsx bench/writes.ts   # quick run: stdout only
 *
 * Each variant runs for WRITES_SECONDS (10) or WRITES_MAX (50,000) writes, whichever ends first,
 * on a fresh data dir:
 *   (a) POST /v1/styx/entries over HTTP, 64 keep-alive connections, client in a child process;
 *   (a2) POST /v1/styx/entries/batch, 64 entries per request, 8 connections (one transaction each);
 *   (b) KnowledgeService.write in-process (no HTTP), one at a time;
 *   (c) SqliteEntryStore.insert in-process (the store alone: no id, hash or vector work);
 *   (d) baseline: raw better-sqlite3 inserts of the same rows into a plain table, one
 *       transaction per row, WAL, synchronous=NORMAL (no FTS, no secondary index);
 *   (e) the same raw inserts into Styx's own schema (entries + FTS5 trigger + indexes), to
 *       split the store's cost into schema (e − d) and code around it (c − e).
 * After (a) and (a2): every acknowledged id is looked up through a second SQLite connection, and
 * one more entry is written and immediately queried by its vector (it must be the top hit).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openDatabase } from "../src/adapters/sqlite/database.js";
import { clusteredSource, cpuMs, DIM, int, machine, ms, nowMs, pct, publishReport, table, timedLoop } from "./lib/common.js";
import { runLoad } from "./lib/load-client.js";
import { ENTRY_DEFAULTS, HASH, inputs, server } from "./lib/write-inputs.js";

const MAX = Number(process.env.WRITES_MAX ?? 50_000);
const SECONDS = Number(process.env.WRITES_SECONDS ?? 10);
const FULL = MAX === 50_000 && SECONDS === 10;
const CONCURRENCY = 64;
/** The batch variant: entries per request and connections (at most 512 entries in flight). */
const BATCH = 64;
const BATCH_CONCURRENCY = 8;
const GOAL = 5_000;

type Row = { name: string; n: number; s: number; lat: number[] };

const loop = (one: (i: number) => unknown) => timedLoop(one, MAX, SECONDS * 1000);

/** HTTP writes: single entries (batch 1) or POST /v1/styx/entries/batch; then the durability and visibility checks. */
async function httpVariant(rows: Row[], checks: string[], batch: number, concurrency: number): Promise<void> {
  const { s, key, golemId } = await server();
  const cpu0 = cpuMs();
  const path = batch > 1 ? "/v1/styx/entries/batch" : "/v1/styx/entries";
  const max = Math.ceil(MAX / batch);
  const job = { url: s.url, token: key, method: "POST", path, concurrency, max, durationMs: SECONDS * 1000, keep: true } as const;
  const r = await runLoad({ ...job, writes: { golemId, seed: 7, batch } });
  const answers = (r.bodies ?? []).filter((b) => b.startsWith("{")).map((b) => JSON.parse(b));
  const acked: string[] = answers.flatMap((a) => (a.results ?? [a]).map((x: { id?: string }) => x.id)).filter(Boolean);
  const name =
    batch > 1
      ? `(a2) HTTP POST ${path}, ${batch} entries per request, ${concurrency} connections`
      : `(a) HTTP POST ${path}, ${concurrency} keep-alive connections`;
  rows.push({ name, n: acked.length, s: r.elapsedMs / 1000, lat: r.lat });
  const cpu = `server process ${ms((cpuMs() - cpu0) / 1000, 1)} s, client ${ms(r.clientCpuMs / 1000, 1)} s`;
  checks.push(
    `${name.split(" ")[0]}: HTTP statuses ${JSON.stringify(r.statuses)}; CPU during the run: ${cpu}, over ${ms(r.elapsedMs / 1000, 1)} s of wall time.`,
  );
  const vectors = s.styx.knowledge.vectors;
  const backlog = vectors.backlog;

  // Visibility: one more entry, then at once vector queries with its embedding (5, the first is this process's first query).
  const probe = Array.from(clusteredSource(99).draw(1));
  const body = { golem_id: golemId, layer: "vault", category: "insight", content: "the last entry", embedding: probe };
  const w = await s.request("POST", "/v1/styx/entries", { token: key, body });
  const tops: string[] = [];
  const qMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = nowMs();
    const q = await s.request("POST", "/v1/styx/query", { token: key, body: { embedding: probe, limit: 1 } });
    qMs.push(nowMs() - t);
    tops.push(q.json?.hits?.[0]?.id);
  }
  const found = tops.every((id) => id === w.json?.id) ? "yes" : `NO (${tops.join(", ")})`;

  // Durability/visibility: every acknowledged id, through an independent connection to the file.
  const db = new Database(join(s.dataDir as string, "styx.db"), { readonly: true });
  const stored = new Set(db.prepare("SELECT id FROM entries").pluck().all() as string[]);
  db.close();
  const missing = acked.filter((id) => !stored.has(id)).length;
  const f = nowMs();
  await vectors.flush();
  checks.push(
    `${name.split(" ")[0]}: acknowledged writes ${int(acked.length)}, found in styx.db through a second SQLite connection ${int(acked.length - missing)} ` +
      `(missing ${missing}; rows ${int(stored.size)} = acked + the last entry: ${stored.size === acked.length + 1 ? "yes" : "no"}). ` +
      `An entry written after the run, with ${int(backlog)} vectors still in the ANN backlog, was the top hit of 5 immediate vector queries: ${found} ` +
      `(${qMs.map((x) => ms(x, 1)).join(", ")} ms over HTTP). The index absorbed that backlog ${ms((nowMs() - f) / 1000, 1)} s later.`,
  );
  await s.close();
}

async function serviceVariant(rows: Row[]): Promise<void> {
  const { s, golemId } = await server();
  const golem = await s.styx.storage.identity.getGolem(golemId);
  if (!golem) throw new Error("golem missing");
  const next = inputs(11);
  const r = await loop((i) => {
    const { content, embedding } = next(i);
    return s.styx.knowledge.service.write({ golem, layer: "vault", category: "insight", confidence: 0.5, content, embedding });
  });
  rows.push({ name: "(b) KnowledgeService.write in-process (no HTTP)", ...r });
  await s.styx.knowledge.vectors.flush();
  await s.close();
}

async function storeVariant(rows: Row[]): Promise<void> {
  const { s, golemId } = await server();
  const golem = await s.styx.storage.identity.getGolem(golemId);
  if (!golem) throw new Error("golem missing");
  const next = inputs(13);
  const r = await loop((i) => {
    const { id, content, blob } = next(i);
    const e = { id, userId: golem.userId, golemId, category: "insight" as const, content, contentHash: HASH, createdAt: Date.now() };
    return s.styx.storage.entries.insert({ ...e, ...ENTRY_DEFAULTS, embedding: new Float32Array(blob.buffer, blob.byteOffset, DIM) });
  });
  rows.push({ name: "(c) SqliteEntryStore.insert in-process (store only)", ...r });
  await s.close();
}

const RAW_NAMES = {
  plain: "(d) baseline: raw better-sqlite3 INSERT, plain table, 1 txn/row, WAL, sync=NORMAL",
  styx: "(e) raw better-sqlite3 INSERT into the Styx schema (FTS5 trigger + its indexes), 1 txn/row",
};

/** Raw prepared INSERTs, one auto-committed transaction per row: a plain table (d) or the migrated Styx schema (e). */
async function rawVariant(rows: Row[], schema: "plain" | "styx"): Promise<void> {
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
  rows.push({ name: RAW_NAMES[schema], ...r });
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

const rows: Row[] = [];
const checks: string[] = [];
for (const [name, run] of [
  ["HTTP", () => httpVariant(rows, checks, 1, CONCURRENCY)],
  ["HTTP batch", () => httpVariant(rows, checks, BATCH, BATCH_CONCURRENCY)],
  ["service", () => serviceVariant(rows)],
  ["store", () => storeVariant(rows)],
  ["raw plain", () => rawVariant(rows, "plain")],
  ["raw styx schema", () => rawVariant(rows, "styx")],
] as const) {
  console.error(`writes: ${name}…`);
  await run();
}

const rate = (r: Row) => r.n / r.s;
const goal = (r: Row) => `≥ ${int(GOAL)}/s: ${rate(r) >= GOAL ? "met" : `missed (${Math.round((100 * rate(r)) / GOAL)} % of goal)`}`;
const cells = (r: Row) => [r.name, int(r.n), ms(r.s, 1), int(rate(r)), ms(pct(r.lat, 0.5), 3), ms(pct(r.lat, 0.99), 3)];
const head = ["Variant", "Writes", "Seconds", "Writes/s", "p50 (ms)", "p99 (ms)", "SPEC goal"];
const tbl = table(
  head,
  rows.map((r, i) => [...cells(r), i <= 1 ? goal(r) : ""]),
);
const body = [
  "Command: `npm run build && node --import tsx bench/writes.ts`",
  "",
  machine(),
  "",
  `Each variant: a fresh data dir, ${SECONDS} s or ${int(MAX)} writes, whichever ends first. Entries: layer vault, category insight, ` +
    "confidence 0.5, 12 words of content, a 384-d clustered embedding (over HTTP with 4 fresh random components each, so all differ; " +
    "in-process 2,000 vectors repeat). " +
    `HTTP latency is measured in the client (a child process on the same 2 cores) and includes queueing behind ${CONCURRENCY} in-flight requests; ` +
    "for (a2) it is per request of 64 entries. In-process variants run one write at a time (the SQLite calls are synchronous, " +
    "so concurrency adds nothing); their inputs are prepared before the clock starts.",
  "",
  tbl,
  "",
  ...checks.map((c) => `- ${c}`),
].join("\n");
publishReport("Writes (bench/writes.ts)", body, { full: FULL, overrides: "WRITES_MAX/WRITES_SECONDS" });
