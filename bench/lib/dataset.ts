/**
 * The 100k-entry namespace shared by bench/query.ts and bench/startup.ts: one user, one golem,
 * N vault entries (category insight, confidence 0.5, 12 words of content, a 384-d clustered
 * embedding), written through KnowledgeService.write on a persistent data dir. A fixed
 * ManualClock gives every entry the same created_at, so the mortal score of a vector-only query
 * orders hits exactly by cosine and recall can be compared with an exact top-10.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { clusteredSource, DIM, nowMs, rng, words } from "./common.js";

export const N = Number(process.env.BENCH_N ?? 100_000);
export const DATA_DIR = process.env.BENCH_DATA_DIR ?? join(tmpdir(), N === 100_000 ? "styx-bench-100k" : `styx-bench-${N}`);
export const SEED = 0x5717;
export const CLOCK_START = Date.UTC(2026, 0, 1);

/** What a later run needs to use the data dir (written next to styx.db). */
export interface DatasetMeta {
  readonly n: number;
  readonly seed: number;
  readonly userId: string;
  readonly golemId: string;
  /** A read/write API key of the user (bench data only). */
  readonly key: string;
  readonly writeSeconds: number;
  readonly indexSeconds: number;
}

export function readMeta(dir = DATA_DIR): DatasetMeta | undefined {
  const file = join(dir, "bench-meta.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as DatasetMeta) : undefined;
}

/** Base vectors (N rows) and `queries` more rows from the same clusters, regenerated from the seed. */
export function vectors(n: number, queries: number): { base: Float32Array; queries: Float32Array } {
  const src = clusteredSource(SEED);
  const base = src.draw(n);
  return { base, queries: src.draw(queries) };
}

/**
 * Builds the data dir from scratch and leaves the server running, with the ANN index caught up.
 * `ids[i]` is the entry id of base row i.
 */
export async function buildDataset(
  base: Float32Array,
  log: (m: string) => void,
): Promise<{ s: TestServer; meta: DatasetMeta; ids: string[]; clock: ManualClock }> {
  const n = base.length / DIM;
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  const clock = new ManualClock(CLOCK_START);
  const s = await startTestServer({ dataDir: DATA_DIR, clock, env: { STYX_EMBED_DIM: String(DIM) } });
  const u = await s.user("bench-user");
  const g = await s.golem(u.key, { id: "bench-golem" });
  const golem = await s.styx.storage.identity.getGolem(g.id);
  if (!golem) throw new Error("golem missing");
  const rand = rng(SEED + 1);
  const ids: string[] = [];
  let t = nowMs();
  for (let i = 0; i < n; i++) {
    const embedding = Array.from(base.subarray(i * DIM, (i + 1) * DIM));
    const content = `entry ${i}: ${words(rand, 12)}`;
    const r = await s.styx.knowledge.service.write({ golem, layer: "vault", category: "insight", confidence: 0.5, content, embedding });
    ids.push(r.id);
    if (i % 20_000 === 19_999) log(`  ${i + 1} written`);
  }
  const writeSeconds = (nowMs() - t) / 1000;
  log(`  ${n} entries written in ${writeSeconds.toFixed(1)} s; waiting for the ANN index (backlog ${s.styx.knowledge.vectors.backlog})…`);
  t = nowMs();
  await s.styx.knowledge.vectors.flush();
  const indexSeconds = (nowMs() - t) / 1000;
  log(`  index caught up ${indexSeconds.toFixed(1)} s after the last write`);
  const meta: DatasetMeta = { n, seed: SEED, userId: u.id, golemId: g.id, key: u.key, writeSeconds, indexSeconds };
  writeFileSync(join(DATA_DIR, "bench-meta.json"), JSON.stringify(meta, null, 2));
  return { s, meta, ids, clock };
}
