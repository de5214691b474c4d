import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { type QueryRequester, type RankedHit, runQuery } from "../../../src/core/knowledge/query.js";
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
