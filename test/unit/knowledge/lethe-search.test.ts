import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import type { EventBus, SequencedEvent, StyxEvent } from "../../../src/core/fabric/event-bus.js";
import { LetheService } from "../../../src/core/knowledge/lethe-service.js";
import { LETHE_DOMAIN_SEARCHES, type QueryInput, runQuery } from "../../../src/core/knowledge/query.js";
import type { LetheCandidate } from "../../../src/core/knowledge/types.js";
import { LETHE_ALL_DOMAINS } from "../../../src/core/knowledge/types.js";
import type { VectorIndex } from "../../../src/core/knowledge/vector-index.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { candidateFixture, entryFixture } from "../../../src/testing/contracts/entry-store.contract.js";
import { unitVector } from "../../../src/testing/contracts/vector-index.contract.js";

await initCrypto();

const DIM = 16;
const T = Date.UTC(2026, 0, 1);

/** An exact index that records which namespaces were searched. */
class CountingIndex extends ExactVectorIndex {
  readonly searched: string[] = [];
  override async search(namespace: string, query: Float32Array, k: number) {
    this.searched.push(namespace);
    return super.search(namespace, query, k);
  }
}

const bus: EventBus = {
  publish: async (e: StyxEvent): Promise<SequencedEvent> => ({ ...e, epoch: "e", seq: 1, ts: T, payloadJson: JSON.stringify(e.payload) }),
  subscribe: () => () => {},
};

/** `v` moved towards `toward` by `t` (0..1), normalised. */
function blend(v: Float32Array, toward: Float32Array, t: number): Float32Array {
  const out = v.map((x, i) => (1 - t) * x + t * (toward[i] as number));
  const n = Math.hypot(...out);
  return out.map((x) => x / n);
}

describe("lethe search across many domains", () => {
  let store: SqliteEntryStore;
  let index: CountingIndex;
  let vectors: VectorSearch;
  let lethe: LetheService;
  let n = 0;

  /** Queues and publishes one lethe candidate; returns what the publisher did. */
  const publish = async (extra: Partial<LetheCandidate>) => {
    const id = `c${++n}`;
    await store.insert(entryFixture(`src-${id}`), candidateFixture(id, { content: `lethe note ${id}`, source: `src-${id}`, ...extra }));
    return lethe.publishDue();
  };
  const query = (q: Partial<Omit<QueryInput, "embedding">> & { embedding: Float32Array | null }) =>
    runQuery(
      { store, vectors, now: T + 10_000 },
      { userId: "reader", golemId: null },
      { layers: ["lethe"], limit: 10, explain: false, ...q },
    );

  beforeEach(() => {
    store = new SqliteEntryStore(openDatabase(":memory:"));
    index = new CountingIndex(DIM);
    vectors = new VectorSearch(index as VectorIndex, { dimensions: DIM });
    lethe = new LetheService({
      store,
      vectors,
      bus,
      clock: new ManualClock(T + 5_000),
      pipeline: { publishable: async (text) => text, text: async (text) => text, token: (v) => v },
    });
  });

  it("searches one vector index for a query that names no domain, however many domains lethe holds", async () => {
    for (let d = 0; d < 60; d++) await publish({ domain: `d${d}`, embedding: unitVector(d + 1, DIM) });
    index.searched.length = 0;
    const hits = await query({ embedding: unitVector(7, DIM) });
    assert.deepEqual(index.searched, [LETHE_ALL_DOMAINS]);
    assert.equal(hits[0]?.domain, "d6", "the nearest entry of all domains comes first");
    assert.equal(hits[0]?.namespace, "lethe:d6", "hits still name their domain's namespace");
    assert.equal(hits.length, 10);
  });

  it("searches the named domains' own indexes when a query names a few, and the all-domains index when it names many", async () => {
    for (let d = 0; d < 20; d++) await publish({ domain: `d${d}`, embedding: unitVector(d + 1, DIM) });
    index.searched.length = 0;
    await query({ embedding: unitVector(1, DIM), domains: ["d1", "d2", "d3"] });
    assert.deepEqual(index.searched.sort(), ["lethe:d1", "lethe:d2", "lethe:d3"]);

    index.searched.length = 0;
    const many = Array.from({ length: LETHE_DOMAIN_SEARCHES + 1 }, (_, i) => `d${i}`);
    const hits = await query({ embedding: unitVector(1, DIM), domains: many });
    assert.deepEqual(index.searched, [LETHE_ALL_DOMAINS]);
    assert.ok(hits.length > 0);
    assert.ok(
      hits.every((h) => many.includes(h.domain ?? "")),
      "the domain filter holds on the all-domains index's candidates",
    );
  });

  it("finds a named domain's entries even when other domains hold many nearer vectors", async () => {
    const q = unitVector(500, DIM);
    for (let i = 0; i < 300; i++) await publish({ domain: `crowd${i % 50}`, embedding: blend(unitVector(1000 + i, DIM), q, 0.6) });
    await publish({ domain: "small", embedding: blend(unitVector(9, DIM), q, 0.2), content: "the small domain's note" });
    const named = await query({ embedding: q, domains: ["small"] });
    assert.deepEqual(
      named.map((h) => h.content),
      ["the small domain's note"],
    );
    const unnamed = await query({ embedding: q });
    assert.ok(
      unnamed.every((h) => h.domain?.startsWith("crowd")),
      "unfiltered, the nearer entries of other domains win",
    );
  });

  it("finds lexical matches of every domain in one text search", async () => {
    for (let d = 0; d < 30; d++)
      await publish({ domain: `d${d}`, embedding: null, content: d % 3 === 0 ? `funding squeeze ${d}` : `calm ${d}` });
    const hits = await query({ embedding: null, text: "squeeze" });
    assert.equal(hits.length, 10);
    assert.ok(hits.every((h) => h.content.startsWith("funding squeeze")));
    assert.equal(index.searched.length, 0, "a text-only query searches no vector index");
  });

  it("reinforces a near-duplicate (cosine > 0.92) only within its own domain", async () => {
    const v = unitVector(3, DIM);
    const near = blend(v, unitVector(4, DIM), 0.05);
    assert.ok(near.reduce((s, x, i) => s + x * (v[i] as number), 0) > 0.92, "the fixture is a near-duplicate");
    assert.deepEqual(await publish({ domain: "dex", embedding: v }), { published: 1, reinforced: 0 });
    // The same vector in another domain is that domain's own first entry, though the all-domains index holds its twin.
    assert.deepEqual(await publish({ domain: "lending", embedding: near }), { published: 1, reinforced: 0 });
    assert.deepEqual(await publish({ domain: "dex", embedding: near }), { published: 0, reinforced: 1 });
    assert.deepEqual(await publish({ domain: "lending", embedding: v }), { published: 0, reinforced: 1 });
    const stored = await store.getLetheBySeqs([1, 2, 3, 4], {});
    assert.deepEqual(stored.map((e) => [e.domain, e.sources.length]).sort(), [
      ["dex", 2],
      ["lending", 2],
    ]);
  });
});
