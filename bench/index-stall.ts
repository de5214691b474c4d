// Measures how long a vector search on one namespace waits while another namespace is being
// bulk-indexed (the usearch worker handles one message at a time), against the same search on
// an idle index. Command: `npm run build && node --import tsx bench/index-stall.ts`
// (the worker runs from dist/). Writes its section of docs/benchmarks.md.
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { UsearchVectorIndex } from "../src/adapters/ann/usearch-vector-index.js";
import { VectorSearch } from "../src/core/knowledge/vector-search.js";
import { unitVector } from "../src/testing/contracts/vector-index.contract.js";

const BULK = Number(process.env.STALL_BULK ?? 20_000);
const DIM = 384;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN;
}

async function searches(vs: VectorSearch, until: () => boolean, max = 2000): Promise<number[]> {
  const lat: number[] = [];
  while (!until() && lat.length < max) {
    const t = performance.now();
    await vs.search("small", unitVector(5, DIM), 10);
    lat.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
  return lat;
}

const index = new UsearchVectorIndex({ dimensions: DIM });
const vs = new VectorSearch(index, { dimensions: DIM });
for (let i = 1; i <= 200; i++) vs.put("small", i, unitVector(i, DIM));
await vs.flush();
let n = 0;
const idle = await searches(vs, () => ++n > 300);
const t0 = performance.now();
for (let i = 1; i <= BULK; i++) vs.put("bulk", i, unitVector(100_000 + i, DIM));
const busy = await searches(vs, () => vs.backlog === 0, 100_000);
const indexSeconds = (performance.now() - t0) / 1000;
await index.close();

const row = (label: string, xs: number[]) =>
  `| ${label} | ${xs.length} | ${pct(xs, 0.5).toFixed(2)} | ${pct(xs, 0.99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`;
const section = `## Vector search during bulk indexing (bench/index-stall.ts)

Command: \`npm run build && node --import tsx bench/index-stall.ts\`. Machine: ${cpus()[0]?.model ?? "?"}, ${execSync("nproc").toString().trim()} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.

A search (k = 10) on a 200-vector namespace, every 5 ms, while ${BULK.toLocaleString()} vectors are indexed into another namespace (took ${indexSeconds.toFixed(1)} s), against the same search with the index idle. Index batches: 64 vectors, one worker thread.

| Search | Count | p50 (ms) | p99 (ms) | max (ms) |
| --- | --: | --: | --: | --: |
${row("baseline: index idle", idle)}
${row(`during ${BULK.toLocaleString()} inserts elsewhere`, busy)}

Before batches of 64 on one thread (2,048-vector batches on all cores), the benchmark helper measured 186–386 ms for the same kind of search.
`;
console.log(section);
const file = new URL("../docs/benchmarks.md", import.meta.url);
const doc = readFileSync(file, "utf8");
const start = doc.indexOf("## Vector search during bulk indexing");
const next = start < 0 ? -1 : doc.indexOf("\n## ", start + 1);
const updated = start < 0 ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, start)}${section}${next < 0 ? "" : doc.slice(next + 1)}`;
writeFileSync(file, updated);
