import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { HYDRATE_CHUNK, type QueryRequester, type RankedHit, runQuery } from "../../../src/core/knowledge/query.js";
import { entryNamespaces, type NewEntry } from "../../../src/core/knowledge/types.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { entryFixture } from "../../../src/testing/contracts/entry-store.contract.js";
import { unitVector } from "../../../src/testing/contracts/vector-index.contract.js";

await initCrypto();

const DIM = 16;
const T = Date.UTC(2026, 0, 1);
const OWNER: QueryRequester = { userId: "u1", golemId: null };
const G1: QueryRequester = { userId: "u1", golemId: "g1" };

describe("a golem credential's query (SPEC §3: its own vault entries, the clade, lethe)", () => {
  let store: SqliteEntryStore;
  let vectors: VectorSearch;

  const write = async (id: string, extra: Partial<NewEntry>) => {
    const { entry } = await store.insert(entryFixture(id, { content: `oracle note ${id}`, contentHash: `h-${id}`, ...extra }));
    if (entry.embedding) for (const ns of entryNamespaces(entry)) vectors.put(ns, entry.seq, entry.embedding);
  };
  const ask = async (
    who: QueryRequester,
    q: { text?: string; embedding?: Float32Array; layers?: ("vault" | "clade" | "lethe")[]; limit?: number },
  ) => runQuery({ store, vectors, now: T + 1000 }, who, { limit: 50, explain: false, embedding: null, ...q });
  const seen = (hits: RankedHit[]) => hits.map((h) => `${h.id}@${h.layer}`).sort();

  beforeEach(async () => {
    store = new SqliteEntryStore(openDatabase(":memory:"));
    vectors = new VectorSearch(new ExactVectorIndex(DIM), { dimensions: DIM });
    // Vectors far apart: near-duplicates (cosine > 0.9) would collapse into one hit.
    await write("g1-vault", { golemId: "g1", embedding: unitVector(1, DIM) });
    await write("g1-clade", { golemId: "g1", inClade: true, embedding: unitVector(2, DIM) });
    await write("g2-vault", { golemId: "g2", embedding: unitVector(3, DIM) });
    await write("g2-clade", { golemId: "g2", inClade: true, embedding: unitVector(4, DIM) });
  });

  it("finds its own vault entries and every clade entry, never a sibling's vault entry", async () => {
    for (const q of [{ text: "oracle" }, { embedding: unitVector(1, DIM) }, { text: "oracle", embedding: unitVector(1, DIM) }]) {
      assert.deepEqual(seen(await ask(G1, q)), ["g1-clade@vault", "g1-vault@vault", "g2-clade@clade"], JSON.stringify(Object.keys(q)));
    }
  });

  it("keeps the filter when only the vault or only the clade is asked for", async () => {
    assert.deepEqual(seen(await ask(G1, { text: "oracle", layers: ["vault"] })), ["g1-clade@vault", "g1-vault@vault"]);
    assert.deepEqual(seen(await ask(G1, { text: "oracle", layers: ["clade"] })), ["g1-clade@clade", "g2-clade@clade"]);
  });

  it("leaves an owner credential's vault whole", async () => {
    assert.deepEqual(seen(await ask(OWNER, { text: "oracle" })), ["g1-clade@vault", "g1-vault@vault", "g2-clade@vault", "g2-vault@vault"]);
  });

  it("finds its own vault entries by vector however many of its siblings' vectors are nearer", async () => {
    const target = unitVector(7, DIM);
    for (let i = 0; i < 150; i++) await write(`g2-near-${i}`, { golemId: "g2", embedding: target });
    await write("g1-far", { golemId: "g1", embedding: unitVector(9, DIM) });
    // limit 10: 40 candidates by default, fewer than the siblings' 150 nearer vectors.
    const hits = await ask(G1, { embedding: target, layers: ["vault"], limit: 10 });
    assert.deepEqual(seen(hits), ["g1-clade@vault", "g1-far@vault", "g1-vault@vault"], "crowded out by its siblings' vectors");
  });
});

describe("a large query hands the event loop back (SPEC §12 fairness)", () => {
  it("reads its candidates in chunks and scores them in slices, with the same answer", async () => {
    const store = new SqliteEntryStore(openDatabase(":memory:"));
    const vectors = new VectorSearch(new ExactVectorIndex(DIM), { dimensions: DIM });
    const n = HYDRATE_CHUNK * 2 + 17;
    for (let i = 0; i < n; i++) {
      const { entry } = await store.insert(
        entryFixture(`e${i}`, { content: `oracle note ${i}`, contentHash: `h-${i}`, confidence: (i % 97) / 100, embedding: null }),
      );
      assert.equal(entry.embedding, null);
    }
    const reads: number[] = [];
    const read = store.getBySeqs.bind(store);
    store.getBySeqs = (seqs, f) => {
      reads.push(seqs.length);
      return read(seqs, f);
    };
    let pauses = 0;
    const q = { text: "oracle", layers: ["vault" as const], limit: 100, explain: false, embedding: null };
    const paced = await runQuery({ store, vectors, now: T + 1000, pause: async () => void pauses++ }, OWNER, q);
    assert.ok(reads.length >= 3 && reads.every((r) => r <= HYDRATE_CHUNK), `chunks of at most ${HYDRATE_CHUNK}: ${reads}`);
    assert.equal(
      reads.reduce((a, b) => a + b, 0),
      Math.min(n, Math.max(q.limit * 4, 40)),
      "every candidate read once",
    );
    assert.ok(pauses >= reads.length - 1, `paused between chunks (${pauses} pauses, ${reads.length} reads)`);
    assert.equal(paced.length, 100);
    for (let i = 1; i < paced.length; i++) assert.ok((paced[i - 1] as RankedHit).score >= (paced[i] as RankedHit).score, "best first");
    // The same store read at once (no chunking can be seen in the answer).
    const whole = await runQuery({ store, vectors, now: T + 1000, pause: async () => {} }, OWNER, q);
    assert.deepEqual(
      paced.map((h) => h.id),
      whole.map((h) => h.id),
    );
  });
});
