/**
 * Query latency and recall at 100k entries in one namespace (384-d), SPEC §14:
 * "query at 100k entries in a namespace (384-d), over HTTP: p99 of vector, lexical and fused each ≤ /health p99
 * + 2 ms in the same run; recall@10 ≥ 0.99 against exact search".
 *
 *   npm run build && node --import tsx bench/query.ts         # updates docs/benchmarks.md
 *   BENCH_N=10000 QUERIES=200 node --import tsx bench/query.ts   # quick run: stdout only
 *
 * Builds the namespace (bench/lib/dataset.ts: 100k writes through KnowledgeService, then waits
 * for the ANN index to absorb every vector), then, one request at a time over HTTP (client in a
 * child process, keep-alive), after 50 warm-up requests each:
 *   vector-only POST /v1/styx/query {embedding, limit: 10}; lexical-only {query: 3 words};
 *   fused {query, embedding}; baseline GET /v1/styx/health (the floor of an HTTP round trip).
 * Recall@10 of the vector-only answers is against an exact top-10 (usearch exactSearch, inner
 * product of normalised vectors, spot-checked against a JS brute force). In-process rows
 * (no HTTP) split the cost: the ANN search alone (worker round trip) and KnowledgeService.query.
 * The data dir is kept (BENCH_DATA_DIR, default $TMPDIR/styx-bench-100k) for bench/startup.ts.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import usearch from "usearch";
import { namespaceOf } from "../src/core/knowledge/types.js";
import { DIM, int, machine, ms, nowMs, pct, publishReport, rng, table, words } from "./lib/common.js";
import { buildDataset, DATA_DIR, N, SEED, vectors } from "./lib/dataset.js";
import { type LoadResult, runLoad } from "./lib/load-client.js";

const Q = Number(process.env.QUERIES ?? 2_000);
const FULL = N === 100_000 && Q === 2_000;
const WARMUP = 50;
const K = 10;
const log = (m: string) => console.error(m);

log(`query: building ${int(N)} entries in ${DATA_DIR}…`);
const { base, queries } = vectors(N, Q + WARMUP);
const { s, meta, ids } = await buildDataset(base, log);
const backlog = s.styx.knowledge.vectors.backlog;
const row = (i: number) => Array.from(queries.subarray(i * DIM, (i + 1) * DIM));
const rand = rng(SEED + 2);
const texts = Array.from({ length: Q + WARMUP }, () => words(rand, 3));

/** One request at a time; the first WARMUP are not counted. */
async function http(method: "GET" | "POST", path: string, bodies?: string[]): Promise<LoadResult> {
  const r = await runLoad({
    url: s.url,
    token: meta.key,
    method,
    path,
    concurrency: 1,
    max: Q + WARMUP,
    durationMs: 600_000,
    keep: true,
    ...(bodies ? { bodies } : {}),
  });
  const bad = Object.keys(r.statuses).filter((k) => k !== "200");
  if (bad.length) throw new Error(`${path}: statuses ${JSON.stringify(r.statuses)}`);
  return { ...r, lat: r.lat.slice(WARMUP), bodies: (r.bodies ?? []).slice(WARMUP) };
}

async function inProcess(one: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < Q + WARMUP; i++) {
    const t = nowMs();
    await one(i);
    if (i >= WARMUP) lat.push(nowMs() - t);
  }
  return lat;
}

log("query: HTTP runs…");
const health = await http("GET", "/v1/styx/health");
const vector = await http(
  "POST",
  "/v1/styx/query",
  Array.from({ length: Q + WARMUP }, (_, i) => JSON.stringify({ embedding: row(i), limit: K })),
);
const lexical = await http(
  "POST",
  "/v1/styx/query",
  texts.map((query) => JSON.stringify({ query, limit: K })),
);
const fused = await http(
  "POST",
  "/v1/styx/query",
  texts.map((query, i) => JSON.stringify({ query, embedding: row(i), limit: K })),
);

log("query: in-process runs…");
const ns = namespaceOf("vault", meta.userId);
const annKeys: number[][] = [];
const ann = await inProcess(async (i) => {
  // slice, not subarray: a view would be posted to the index worker together with its whole 3 MB buffer.
  const hits = await s.styx.knowledge.vectors.search(ns, queries.slice(i * DIM, (i + 1) * DIM), 40);
  if (i >= WARMUP) annKeys.push(hits.map((h) => h.key));
});
const svc = await inProcess((i) =>
  s.styx.knowledge.service.query({ userId: meta.userId, golemId: null }, { embedding: row(i), limit: K, explain: false }),
);

log("query: exact top-10…");
const measured = queries.slice(WARMUP * DIM);
const exact = usearch.exactSearch(base, measured, DIM, K, usearch.MetricKind.IP, 0) as InstanceType<typeof usearch.BatchMatches>;
const truth = (i: number) => Array.from(exact.keys.subarray(i * K, (i + 1) * K), Number);
let agree = 0; // spot check: JS brute force on 20 queries
for (let i = 0; i < 20; i++) {
  const q = measured.subarray(i * DIM, (i + 1) * DIM);
  const sims = Array.from({ length: N }, (_, r) => {
    let d = 0;
    for (let j = 0; j < DIM; j++) d += (q[j] as number) * (base[r * DIM + j] as number);
    return [r, d] as const;
  }).sort((a, b) => b[1] - a[1]);
  const t = new Set(truth(i));
  agree += sims.slice(0, K).filter(([r]) => t.has(r)).length;
}
const rowOf = new Map(ids.map((id, i) => [id, i]));
let hits = 0;
let returned = 0;
vector.bodies?.forEach((b, i) => {
  const got = (JSON.parse(b).hits as { id: string }[]).map((h) => rowOf.get(h.id));
  returned += got.length;
  const t = new Set(truth(i));
  hits += got.filter((r) => r !== undefined && t.has(r)).length;
});
const recall = hits / (Q * K);
// The index's own recall: its top-10 keys (entry seqs) against the same truth.
const db = new Database(join(DATA_DIR, "styx.db"), { readonly: true });
const rowOfSeq = new Map(
  (db.prepare("SELECT seq, id FROM entries").all() as { seq: number; id: string }[]).map((r) => [r.seq, rowOf.get(r.id)]),
);
db.close();
const annHits = annKeys.reduce((n, keys, i) => {
  const t = new Set(truth(i));
  return n + keys.slice(0, K).filter((k) => t.has(rowOfSeq.get(k) ?? -1)).length;
}, 0);
await s.close();

/** SPEC §14: each query kind's p99 ≤ /health's p99 of the same run + 2 ms. */
const p99Goal = (lat: number[]) => {
  const p = pct(lat, 0.99);
  const bound = pct(health.lat, 0.99) + 2;
  return `≤ /health p99 + 2 ms (${ms(bound)}): ${p <= bound ? "met" : `missed by ${ms(p - bound)} ms`}`;
};
const line = (name: string, lat: number[], goal = "") => [
  name,
  int(lat.length),
  ms(pct(lat, 0.5), 3),
  ms(pct(lat, 0.99), 3),
  ms(Math.max(...lat), 1),
  goal,
];
const tbl = table(
  ["Request (one at a time)", "Count", "p50 (ms)", "p99 (ms)", "max (ms)", "SPEC goal (p99)"],
  [
    line("baseline: GET /v1/styx/health over HTTP", health.lat),
    line("POST /v1/styx/query, vector-only (embedding, limit 10)", vector.lat, p99Goal(vector.lat)),
    line("POST /v1/styx/query, lexical-only (3 words)", lexical.lat, p99Goal(lexical.lat)),
    line("POST /v1/styx/query, fused (3 words + embedding)", fused.lat, p99Goal(fused.lat)),
    line("in-process: VectorSearch.search, k=40 (worker round trip + HNSW)", ann),
    line("in-process: KnowledgeService.query, vector-only", svc),
  ],
);
const body = [
  "Command: `npm run build && node --import tsx bench/query.ts`",
  "",
  machine(),
  "",
  `Data: ${int(N)} vault entries of one user (one namespace, \`vault:<user>\`), written through KnowledgeService.write ` +
    `(${ms(meta.writeSeconds, 1)} s), then ${ms(meta.indexSeconds, 1)} s more until the usearch worker had absorbed every vector ` +
    `(ANN backlog at the start of the queries: ${int(backlog)}). Vectors: 384-d, 1,000 Gaussian clusters (σ=0.04/dim), normalised, ` +
    `as in bench/ann.ts; ${int(Q)} queries from the same clusters. Content: 12 words of a uniform 2,000-word vocabulary; lexical ` +
    `queries are 3 such words. All entries share one created_at and confidence, so vector-only hits are ordered by cosine alone. ` +
    `Queries name no layers (vault, clade and lethe are searched; clade and lethe are empty). HTTP latency is measured in the client ` +
    `(a child process), one request at a time over one keep-alive socket, after ${WARMUP} warm-up requests.`,
  "",
  tbl,
  "",
  `Recall@10 of the vector-only HTTP answers against the exact top-10: **${recall.toFixed(4)}** ` +
    `(SPEC goal ≥ 0.99: ${recall >= 0.99 ? "met" : `missed by ${(0.99 - recall).toFixed(4)}`}); ${int(returned)} hits returned for ${int(Q * K)} expected. ` +
    `The index alone (in-process VectorSearch.search, its first 10 of k=40): recall@10 ${(annHits / (Q * K)).toFixed(4)}. ` +
    `Exact top-10 by usearch exactSearch; a JS brute force agreed on ${agree}/${20 * K} neighbours of 20 queries.`,
].join("\n");
publishReport("Query (bench/query.ts)", body, { full: FULL, overrides: "BENCH_N/QUERIES" });
