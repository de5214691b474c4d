/**
 * ANN library benchmark for Styx's per-namespace vector index.
 *
 *   node --import tsx bench/ann.ts              # full run: 100k × 384, 1,000 queries; rewrites docs/benchmarks.md
 *   ANN_N=10000 ANN_Q=200 node --import tsx bench/ann.ts   # quick run: stdout only
 *
 * The parent process generates the data, runs the exact brute-force baseline (ground truth + latency),
 * then forks one child per candidate library. Each child regenerates the same seeded data and builds
 * its index in a fresh process so RSS/heap deltas are not polluted by the other library or the baseline.
 */
import { execSync, fork } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import hnswlib from "hnswlib-node";
import { Index, MetricKind, ScalarKind } from "usearch";
import { rng } from "./lib/common.js";

const DIM = 384;
const K = 10;
const CLUSTERS = 1_000;
const NOISE_SIGMA = 0.04; // per-dim noise; noise norm ≈ 0.78 vs unit centre → intra-cluster cosine ≈ 0.6, like real embeddings
const SEED = 0x5717;
const WARMUP = 20;
const N = Number(process.env.ANN_N ?? 100_000);
const Q = Number(process.env.ANN_Q ?? 1_000);
const FULL_RUN = N === 100_000 && Q === 1_000; // only the full run may rewrite docs/benchmarks.md
const DOC = "docs/benchmarks.md";
const HEADING = "## ANN index: usearch vs hnswlib-node vs exact (100k × 384)";

type Candidate = "usearch" | "hnswlib-node";
type Build = { buildS: number; rssMb: number; heapMb: number };
type ChildResult = Build & { lat: number[]; ids: number[] }; // ids: Q × K, row-major
type Row = Partial<Build> & { name: string; settings: string; p50: number; p99: number; recall: number };

function normalise(m: Float32Array, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * DIM;
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (m[o + d] as number) ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < DIM; d++) m[o + d] = (m[o + d] as number) * inv;
  }
}

/** Clustered unit vectors: random unit centre + isotropic Gaussian noise, re-normalised. Queries come from the same process. */
function makeData(): { base: Float32Array; queries: Float32Array } {
  const rand = rng(SEED);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); // Box–Muller
  const centres = new Float32Array(CLUSTERS * DIM).map(gauss);
  normalise(centres, CLUSTERS);
  const draw = (rows: number): Float32Array => {
    const m = new Float32Array(rows * DIM);
    for (let r = 0; r < rows; r++) {
      const c = Math.floor(rand() * CLUSTERS) * DIM;
      for (let d = 0; d < DIM; d++) m[r * DIM + d] = (centres[c + d] as number) + NOISE_SIGMA * gauss();
    }
    normalise(m, rows);
    return m;
  };
  const base = draw(N);
  return { base, queries: draw(Q) };
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
};

/** Exact top-K by dot product (vectors are unit length, so dot = cosine). */
function exactTopK(base: Float32Array, q: Float32Array, qo: number): number[] {
  const bestS = new Float64Array(K).fill(-Infinity);
  const bestI = new Int32Array(K).fill(-1);
  for (let i = 0, o = 0; i < N; i++, o += DIM) {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (base[o + d] as number) * (q[qo + d] as number);
    if (s <= (bestS[K - 1] as number)) continue;
    let j = K - 1; // insertion into the small sorted top-K list
    while (j > 0 && (bestS[j - 1] as number) < s) {
      bestS[j] = bestS[j - 1] as number;
      bestI[j] = bestI[j - 1] as number;
      j--;
    }
    bestS[j] = s;
    bestI[j] = i;
  }
  return Array.from(bestI);
}

const mem = () => {
  globalThis.gc?.(); // children run with --expose-gc so deltas reflect retained memory, not garbage
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
};

/** Child: build one library's index on the same data, time single queries, send results back over IPC. */
function runChild(name: Candidate): ChildResult {
  const { base, queries } = makeData();
  const before = mem();
  const t0 = nowMs();
  let search: (q: Float32Array) => number[];
  if (name === "usearch") {
    const [metric, quantization] = [MetricKind.Cos, ScalarKind.F16];
    const index = new Index({
      dimensions: DIM,
      metric,
      quantization,
      connectivity: 16,
      expansion_add: 128,
      expansion_search: 64,
      multi: false,
    });
    const keys = new BigUint64Array(N).map((_, i) => BigInt(i));
    index.add(keys, base); // threads=0 (default): usearch parallelises the bulk insert over all cores
    search = (q) => Array.from(index.search(q, K, 0).keys, Number);
  } else {
    const index = new hnswlib.HierarchicalNSW("cosine", DIM);
    index.initIndex(N, 16, 200);
    // hnswlib-node takes number[] and inserts one point per call on the JS thread (no batch/parallel add).
    for (let i = 0; i < N; i++) index.addPoint(Array.from(base.subarray(i * DIM, (i + 1) * DIM)), i);
    index.setEf(64);
    // The number[] conversion is part of every real query with this binding, so it is inside the timing.
    search = (q) => index.searchKnn(Array.from(q), K).neighbors;
  }
  const buildS = (nowMs() - t0) / 1000;
  const after = mem();
  // Touch the dataset after measuring: once the build no longer needs it, GC could free its 147 MB
  // and silently subtract that from the index's RSS delta.
  if (base.length !== N * DIM) throw new Error("dataset changed during build");
  const [lat, ids]: [number[], number[]] = [[], []];
  for (let i = 0; i < WARMUP; i++) search(queries.subarray(0, DIM));
  for (let i = 0; i < Q; i++) {
    const q = queries.subarray(i * DIM, (i + 1) * DIM);
    const t = nowMs();
    const r = search(q);
    lat.push(nowMs() - t);
    for (let j = 0; j < K; j++) ids.push(r[j] ?? -1);
  }
  return { buildS, rssMb: after.rss - before.rss, heapMb: after.heap - before.heap, lat, ids };
}

function spawnChild(name: Candidate): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, ANN_CHILD: name },
      execArgv: [...process.execArgv, "--expose-gc"],
    });
    child.once("message", (m) => resolve(m as ChildResult));
    child.once("exit", (code) => code !== 0 && reject(new Error(`${name} child exited with ${code}`)));
  });
}

const f = (x: number | undefined, digits: number) => (x === undefined ? "—" : x.toFixed(digits));

function table(rows: Row[]): string {
  const head = "| Index | Settings | Build (s) | ΔRSS after build (MB) | ΔHeap after build (MB) | p50 (ms) | p99 (ms) | Recall@10 |";
  const line = (r: Row) =>
    `| ${r.name} | ${r.settings} | ${f(r.buildS, 1)} | ${f(r.rssMb, 0)} | ${f(r.heapMb, 1)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${f(r.recall, 4)} |`;
  return [head, "|---|---|--:|--:|--:|--:|--:|--:|", ...rows.map(line)].join("\n");
}

/** Decision text is derived from the measured rows so a re-run cannot leave a stale conclusion behind. */
function decision([exact, ...cands]: Row[]): string {
  const meets = (r: Row) => r.recall >= 0.99 && r.p99 < 5;
  const status = cands.map(
    (r) => `${r.name} recall@10 ${r.recall.toFixed(4)}, p99 ${r.p99.toFixed(2)} ms (${meets(r) ? "meets" : "misses"})`,
  );
  // p99 and recall are pass/fail goals; once a candidate passes, its resident memory (paid per namespace) decides.
  const [best, other] = [...cands].sort((a, b) => Number(meets(b)) - Number(meets(a)) || (a.rssMb ?? 0) - (b.rssMb ?? 0));
  const vs = (k: "rssMb" | "buildS" | "p99", label: string, d: number) => `${label} ${f(best?.[k], d)} vs ${f(other?.[k], d)}`;
  const passing = cands.filter(meets).length;
  const why =
    passing > 1
      ? "both candidates meet the goal in-process, so resident memory (paid per namespace) decides"
      : "the only candidate meeting the goal";
  const verdict =
    best && meets(best)
      ? `**Decision: ${best.name}** — ${why} (${best.name} vs ${other?.name}: ` +
        `${vs("rssMb", "ΔRSS MB", 0)}, ${vs("buildS", "build s", 1)}, ${vs("p99", "p99 ms", 2)}).`
      : "**Decision: no candidate meets the goal at these settings**; raise the search expansion and re-measure before choosing.";
  return [
    "SPEC goal: query at 100k entries in a namespace (384-d): p99 < 5 ms over HTTP, recall@10 ≥ 0.99 against exact search.",
    "",
    "This bench measures the in-process index only (no HTTP, no serialisation), so the in-process p99 must leave headroom under 5 ms.",
    "",
    `Measured: ${status.join("; ")}. Exact brute force in JS: p99 ${f(exact?.p99, 1)} ms (${(exact?.p99 ?? 0) < 5 ? "within" : "over"} the 5 ms budget).`,
    "",
    verdict,
  ].join("\n");
}

function writeDoc(section: string): void {
  let doc = existsSync(DOC)
    ? readFileSync(DOC, "utf8")
    : "# Benchmarks\n\nEvery figure in this file comes from a command in `bench/`; re-run it to refresh the numbers.\n";
  const start = doc.indexOf(HEADING);
  if (start === -1) doc = `${doc.trimEnd()}\n\n${section}\n`;
  else {
    const next = doc.indexOf("\n## ", start + HEADING.length); // keep every other section intact
    doc = doc.slice(0, start) + section + (next === -1 ? "\n" : `\n\n${doc.slice(next + 1)}`);
  }
  writeFileSync(DOC, doc);
}

async function main(): Promise<void> {
  const child = process.env.ANN_CHILD as Candidate | undefined;
  if (child) {
    process.send?.(runChild(child));
    return;
  }
  // The machine may be shared; record the load so contended numbers can be recognised as such.
  const loadStart = loadavg()[0] ?? 0;
  console.error(`generating ${N} × ${DIM} vectors + ${Q} queries…`);
  const { base, queries } = makeData();
  console.error("exact baseline…");
  const truth: number[][] = [];
  const exactLat: number[] = [];
  for (let i = 0; i < Q; i++) {
    const t = nowMs();
    truth.push(exactTopK(base, queries, i * DIM));
    exactLat.push(nowMs() - t);
  }
  const rows: Row[] = [
    { name: "exact", settings: "brute-force JS, Float32 dot", p50: pct(exactLat, 0.5), p99: pct(exactLat, 0.99), recall: 1 },
  ];
  // Sequential, not parallel: the machine has few cores and usearch's bulk insert uses all of them.
  for (const name of ["usearch", "hnswlib-node"] as const) {
    console.error(`${name}: building + querying in a child process…`);
    const r = await spawnChild(name);
    let hits = 0;
    for (let i = 0; i < Q; i++) {
      const t = new Set(truth[i]);
      for (let j = 0; j < K; j++) if (t.has(r.ids[i * K + j] ?? -1)) hits++;
    }
    const settings =
      name === "usearch" ? "f16, connectivity 16, expansion_add 128, expansion_search 64" : "M 16, efConstruction 200, ef 64";
    const { lat, ids: _, ...rest } = r;
    rows.push({ name, settings, ...rest, p50: pct(lat, 0.5), p99: pct(lat, 0.99), recall: hits / (Q * K) });
  }
  const tbl = table(rows);
  console.log(`\nN=${N}, Q=${Q}, dim=${DIM}, k=${K}\n\n${tbl}\n`);
  if (!FULL_RUN) {
    console.error(`ANN_N/ANN_Q override in effect: ${DOC} not updated.`);
    return;
  }
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  const nproc = execSync("nproc").toString().trim();
  const section = [
    HEADING,
    "",
    "Command: `node --import tsx bench/ann.ts`",
    "",
    `Machine: ${cpu}, ${nproc} cores (nproc), Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}. ` +
      `1-min load average at start / end of run: ${loadStart.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)}.`,
    "",
    `Data: ${N.toLocaleString("en")} stored vectors and ${Q.toLocaleString("en")} separate queries, ${DIM}-d, seeded PRNG, ` +
      `${CLUSTERS.toLocaleString("en")} Gaussian cluster centres + noise (σ=${NOISE_SIGMA}/dim), every vector L2-normalised. ` +
      `Latency is one query at a time, k=${K}, after ${WARMUP} warm-up queries. Recall@10 is against the exact search. ` +
      "Each library is built in its own child process; ΔRSS/ΔHeap are measured after a forced GC, before vs after the build. " +
      "usearch inserts with its default thread count (all cores); hnswlib-node inserts one point per call on one thread.",
    "",
    tbl,
    "",
    decision(rows),
  ].join("\n");
  writeDoc(section);
  console.error(`wrote section to ${DOC}`);
}

await main();
