/**
 * What bench/writes.ts checks and measures around its HTTP rows: every acknowledged write in
 * the file and an entry written last found at once (durable and visible, SPEC §4.5); the rate
 * at which the vector index alone absorbs the vectors a run sent; the deposit bodies.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { UsearchVectorIndex } from "../../src/adapters/ann/usearch-vector-index.js";
import { normalize } from "../../src/core/knowledge/embedder.js";
import { VectorSearch } from "../../src/core/knowledge/vector-search.js";
import { clusteredSource, DIM, int, ms, nowMs } from "./common.js";
import { type LoadResult, writeBodies } from "./load-client.js";
import type { server } from "./write-inputs.js";

type Server = Awaited<ReturnType<typeof server>>;

/**
 * After a write run on `srv`: one more entry, queried at once 5 times (lexically by a word of its
 * own, or by its vector), then every acknowledged id looked up through a second SQLite connection.
 */
export async function httpChecks(srv: Server, r: LoadResult, mode: "text" | "vector"): Promise<{ acked: number; line: string }> {
  const { s, key, golemId } = srv;
  const answers = (r.bodies ?? []).filter((b) => b.startsWith("{")).map((b) => JSON.parse(b));
  const acked: string[] = answers.flatMap((a) => (a.results ?? [a]).map((x: { id?: string }) => x.id)).filter(Boolean);
  const vectors = s.styx.knowledge.vectors;
  const backlog = vectors.backlog;
  const probe = Array.from(clusteredSource(99).draw(1));
  const word = `zprobe${Date.now().toString(36)}`;
  const body = {
    golem_id: golemId,
    layer: "vault",
    category: "insight",
    content: `the last entry ${word}`,
    ...(mode === "vector" ? { embedding: probe } : {}),
  };
  const w = await s.request("POST", "/v1/styx/entries", { token: key, body });
  const query = mode === "vector" ? { embedding: probe, limit: 1 } : { query: word, limit: 1 };
  const tops: string[] = [];
  const qMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = nowMs();
    const q = await s.request("POST", "/v1/styx/query", { token: key, body: query });
    qMs.push(nowMs() - t);
    tops.push(q.json?.hits?.[0]?.id);
  }
  const found =
    w.status !== 201
      ? `NO: the write answered ${w.status} ${w.text.slice(0, 120)}`
      : tops.every((id) => id === w.json.id)
        ? "yes"
        : `NO (${tops.join(", ")})`;
  const db = new Database(join(s.dataDir as string, "styx.db"), { readonly: true });
  const stored = new Set(db.prepare("SELECT id FROM entries").pluck().all() as string[]);
  db.close();
  const missing = acked.filter((id) => !stored.has(id)).length;
  const f = nowMs();
  await vectors.flush();
  const absorbed =
    mode === "vector"
      ? ` With ${int(backlog)} vectors still in the ANN backlog at the end of the run, the index absorbed them ${ms((nowMs() - f) / 1000, 1)} s later.`
      : "";
  const line =
    `HTTP statuses ${JSON.stringify(r.statuses)}; acknowledged writes ${int(acked.length)}, found in styx.db through a second SQLite connection ` +
    `${int(acked.length - missing)} (missing ${missing}; rows ${int(stored.size)} = acked + the last entry: ${stored.size === acked.length + 1 ? "yes" : "no"}). ` +
    `An entry written after the run was the top hit of 5 immediate ${mode === "vector" ? "vector" : "lexical"} queries: ${found} ` +
    `(${qMs.map((x) => ms(x, 1)).join(", ")} ms over HTTP).${absorbed}`;
  return { acked: acked.length, line };
}

/**
 * The vector index's own absorption rate: the first `n` vectors the client sent with `seed`
 * (rebuilt from the same generator, normalised as the server does, before the clock), put
 * through VectorSearch (batches of 64, as a write's) into a fresh usearch worker; timed from the
 * first put until the last batch is in the index.
 */
export async function absorbAlone(golemId: string, seed: number, n: number): Promise<{ n: number; s: number; rate: number }> {
  const body = writeBodies(golemId, seed, 1);
  const vectors = Array.from({ length: n }, (_, i) => normalize(JSON.parse(body(i)).embedding as number[]));
  const index = new UsearchVectorIndex({ dimensions: DIM });
  const search = new VectorSearch(index, { dimensions: DIM });
  try {
    await index.search("warm-up", new Float32Array(DIM).fill(1), 1); // the worker started and loaded, before the clock
    const t = nowMs();
    for (const [i, v] of vectors.entries()) search.put("vault:bench", i + 1, v);
    await search.flush();
    const s = (nowMs() - t) / 1000;
    return { n, s, rate: n / s };
  } finally {
    await index.close();
  }
}

const LAYERS = ["threat", "opportunity", "wisdom"] as const;

/** `n` deposits of new pheromones: domain i mod 100, layer i mod 3, class i / 100 (no two the same key). */
export function depositBodies(golemId: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      golem_id: golemId,
      layer: LAYERS[i % 3],
      class: `c${Math.floor(i / 100)}`,
      intensity: 0.5 + (i % 50) / 100,
      domain: `d${i % 100}`,
      regime: "bull",
    }),
  );
}
