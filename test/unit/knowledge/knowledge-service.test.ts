import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import type { Golem } from "../../../src/core/identity/types.js";
import {
  KnowledgeService,
  MAX_CONTENT_BYTES,
  SNAPSHOT_CHUNK,
  type WriteEntryInput,
} from "../../../src/core/knowledge/knowledge-service.js";
import { LetheService } from "../../../src/core/knowledge/lethe-service.js";
import type { Entry } from "../../../src/core/knowledge/types.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { aliveGolem, callerOf, recordingBus, TEST_SECRET_KEY, testEntryService, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const MINUTE = 60_000;
const g1 = aliveGolem("glm_k1aa", "usr_k1");
const g1b = aliveGolem("glm_k1bb", "usr_k1");
const g2 = aliveGolem("glm_k2aa", "usr_k2");

/**
 * A knowledge service over SQLite in RAM with an exact vector index, blobs in memory, lethe
 * k = 1 and delays of 1–5 min drawn from `draws` (0 → 1 min, 0.9999999 → 5 min).
 */
async function setup(draws: number[] = [0]) {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 9));
  const store = new SqliteEntryStore(openDatabase(":memory:"));
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const blobs = new MemoryBlobStore();
  const pipeline = testPipeline();
  const queued: number[] = [];
  let n = 0;
  const service = new KnowledgeService({
    store,
    vectors,
    clock,
    blobs,
    dimensions: 4,
    letheDelay: { minMs: MINUTE, maxMs: 5 * MINUTE },
    letheK: 1,
    key: TEST_SECRET_KEY,
    pipeline,
    random: () => draws[n++ % draws.length] ?? 0,
    onLetheQueued: (due) => queued.push(due),
  });
  const recorded = await recordingBus(clock);
  const lethe = new LetheService({ store, vectors, bus: recorded.bus, clock, pipeline });
  const snapshot = async (golem: Golem): Promise<Entry[]> => {
    const out: Entry[] = [];
    for await (const e of service.snapshot(golem.id, 2)) out.push(e);
    return out;
  };
  return { clock, store, vectors, blobs, service, lethe, queued, snapshot };
}

function write(golem: Golem, over: Partial<WriteEntryInput> = {}): WriteEntryInput {
  return { golem, layer: "vault", category: "insight", content: "funding flips negative before the squeeze", ...over };
}

const validation = (path: string) => (err: { code?: string; details?: unknown }) => {
  assert.equal(err.code, "STYX_VALIDATION");
  assert.deepEqual(
    (err.details as { path: string }[]).map((d) => d.path),
    [path],
  );
  return true;
};

describe("KnowledgeService.write: layers and gates", () => {
  it("keeps an entry in the vault, and indexes it to the clade only when its widest layer allows and its category's gate is met", async () => {
    const { service } = await setup();
    const ns = async (over: Partial<WriteEntryInput>) => (await service.write(write(g1, over))).namespaces;
    const vault = ["vault:usr_k1"];
    const both = ["vault:usr_k1", "clade:usr_k1"];
    assert.deepEqual(await ns({ layer: "vault", confidence: 0.99 }), vault);
    assert.deepEqual(await ns({ layer: "clade", confidence: 0.59 }), vault, "an insight needs 0.6");
    assert.deepEqual(await ns({ layer: "clade", confidence: 0.6 }), both);
    assert.deepEqual(await ns({ layer: "clade", category: "warning", confidence: 0.4 }), both, "a warning needs 0.4");
    assert.deepEqual(await ns({ layer: "clade", category: "heuristic", confidence: 0.69 }), vault, "a heuristic needs 0.7");
    assert.deepEqual(await ns({ layer: "clade" }), vault, "confidence defaults to 0.5");
    assert.deepEqual(await ns({ layer: "lethe", domain: "perps", confidence: 0.6 }), both, "lethe includes the clade");
  });

  it("queues a lethe copy only for layer lethe with a domain at confidence ≥ 0.6, due after its own random delay", async () => {
    const { service, clock, queued, store } = await setup([0, 0.9999999]);
    const r1 = await service.write(write(g1, { layer: "lethe", domain: "perps", confidence: 0.6 }));
    const r2 = await service.write(write(g1, { layer: "lethe", domain: "perps", confidence: 0.9, content: "second" }));
    assert.deepEqual([r1.letheAt, r2.letheAt, r1.letheWaiting], [clock.now() + MINUTE, clock.now() + 5 * MINUTE, false]);
    assert.deepEqual(queued, [clock.now() + MINUTE, clock.now() + 5 * MINUTE], "the publisher is woken for each");
    for (const over of [
      { confidence: 0.59, domain: "perps" },
      { confidence: 0.9 },
      { layer: "clade" as const, domain: "perps", confidence: 0.9 },
    ]) {
      const r = await service.write(write(g1, { layer: "lethe", ...over }));
      assert.equal(r.letheAt, null, JSON.stringify(over));
    }
    assert.equal((await store.dueLethe(clock.now() + 5 * MINUTE, 10)).length, 2);
  });

  it("refuses the public copy of a lethe write whose domain holds an identifier, keeping the private entry", async () => {
    const { service, store, clock } = await setup();
    const r = await service.write(write(g1, { layer: "lethe", domain: g1.id, confidence: 0.9 }));
    assert.deepEqual([r.publicRefused, r.letheAt, r.created, r.namespaces], [true, null, true, ["vault:usr_k1", "clade:usr_k1"]]);
    assert.deepEqual(await store.dueLethe(clock.now() + 10 * MINUTE, 10), []);
  });
});

describe("KnowledgeService.write: idempotency, limits, vectors and blobs", () => {
  it("answers a repeated idempotency key with the first entry, storing nothing, per user", async () => {
    const { service, snapshot } = await setup();
    const first = await service.write(write(g1, { idempotencyKey: "k1" }));
    const again = await service.write(write(g1b, { idempotencyKey: "k1", content: "other", layer: "clade", confidence: 0.9 }));
    assert.deepEqual(again, { ...first, created: false }, "the same user's other golem gets the first answer");
    const [batchRepeat, batchNew] = await service.writeMany([write(g1, { idempotencyKey: "k1" }), write(g1, { idempotencyKey: "k2" })]);
    assert.deepEqual([batchRepeat?.id, batchRepeat?.created, batchNew?.created], [first.id, false, true]);
    assert.equal((await service.write(write(g2, { idempotencyKey: "k1" }))).created, true, "another user's key space");
    assert.equal((await snapshot(g1)).length, 2);
    assert.equal((await snapshot(g1b)).length, 0);
  });

  it("refuses content over 64 KiB or metadata over 4 KiB, naming the entry of a batch, and stores none of the batch", async () => {
    const { service, snapshot } = await setup();
    const big = "é".repeat(MAX_CONTENT_BYTES / 2 + 1);
    await assert.rejects(service.write(write(g1, { content: big })), validation("/content"));
    await assert.rejects(service.writeMany([write(g1), write(g1, { content: big })]), validation("/entries/1/content"));
    await assert.rejects(service.write(write(g1, { metadata: { blob: "x".repeat(4096) } })), validation("/metadata"));
    assert.deepEqual(await snapshot(g1), []);
    assert.equal((await service.write(write(g1, { content: "é".repeat(MAX_CONTENT_BYTES / 2) }))).created, true, "exactly 64 KiB");
  });

  it("checks a caller's embedding and stores it normalised", async () => {
    const { service, snapshot } = await setup();
    await assert.rejects(service.write(write(g1, { embedding: [1, 2, 3] })), validation("/embedding"));
    await assert.rejects(service.write(write(g1, { embedding: [0, 0, 0, 0] })), validation("/embedding"));
    await assert.rejects(service.write(write(g1, { embedding: [1, Number.NaN, 0, 0] })), validation("/embedding"));
    await assert.rejects(service.writeMany([write(g1), write(g1, { embedding: [1] })]), validation("/entries/1/embedding"));
    await service.write(write(g1, { embedding: [3, 4, 0, 0] }));
    const [e] = await snapshot(g1);
    assert.deepEqual([...(e?.embedding ?? [])], [0.6000000238418579, 0.800000011920929, 0, 0]);
  });

  it("takes a content blob only of the writer's own", async () => {
    const { service, blobs } = await setup();
    const { cid } = await blobs.put(
      "usr_k2",
      (async function* () {
        yield new TextEncoder().encode("the full report");
      })(),
      { maxBytes: 1024 },
    );
    await assert.rejects(service.write(write(g1, { contentBlob: cid })), (err: { code?: string; details?: unknown }) => {
      assert.equal(err.code, "STYX_NOT_FOUND");
      assert.deepEqual(err.details, [{ path: "/content_blob" }]);
      return true;
    });
    assert.equal((await service.write(write(g2, { contentBlob: cid }))).created, true);
  });

  it("tells stored-entry listeners of each new entry, not of a repeat", async () => {
    const { service } = await setup();
    const heard: string[] = [];
    service.onStored((e) => heard.push(e.id));
    const r = await service.write(write(g1, { idempotencyKey: "k" }));
    await service.write(write(g1, { idempotencyKey: "k" }));
    assert.deepEqual(heard, [r.id]);
  });
});

describe("KnowledgeService reads, expiry and deletion", () => {
  it("hides an entry from its TTL on, then purges it with its vectors", async () => {
    const { service, clock, vectors, snapshot } = await setup();
    await service.write(write(g1, { layer: "clade", confidence: 0.9, embedding: [1, 0, 0, 0], ttlSeconds: 60 }));
    await service.write(write(g1, { content: "kept", embedding: [0, 1, 0, 0] }));
    const query = () => service.query({ userId: "usr_k1", golemId: null }, { embedding: [1, 0, 0, 0], limit: 10, explain: false });
    assert.equal((await query()).length, 2);
    clock.advance(60_000);
    assert.deepEqual(
      (await snapshot(g1)).map((e) => e.content),
      ["kept"],
    );
    assert.deepEqual(
      (await query()).map((h) => h.content),
      ["kept"],
    );
    assert.equal(await service.purgeExpired(), 1);
    assert.equal(await service.purgeExpired(), 0);
    const left = async (ns: string) => (await vectors.search(ns, new Float32Array([1, 0, 0, 0]), 10)).length;
    assert.deepEqual([await left("vault:usr_k1"), await left("clade:usr_k1")], [1, 0]);
  });

  it("answers a query from the caller's own entries only, and needs text or an embedding", async () => {
    const { service } = await setup();
    await service.write(write(g1, { content: "the funding squeeze of usr_k1" }));
    await service.write(write(g2, { content: "the funding squeeze of usr_k2", layer: "clade", confidence: 0.9 }));
    const hits = await service.query({ userId: "usr_k1", golemId: null }, { text: "funding squeeze", limit: 10, explain: false });
    assert.deepEqual(
      hits.map((h) => [h.layer, h.content]),
      [["vault", "the funding squeeze of usr_k1"]],
    );
    await assert.rejects(service.query({ userId: "usr_k1", golemId: null }, { limit: 10, explain: false }), validation("/query"));
  });

  it("pages a golem's snapshot by entry id, oldest first, its own entries only", async () => {
    const { service } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await service.write(write(g1, { content: `n${i}` }))).id);
      await service.write(write(g1b, { content: `sibling ${i}` }));
    }
    const p1 = await service.snapshotPage(g1.id, 2);
    const p2 = await service.snapshotPage(g1.id, 2, p1.next ?? undefined);
    const p3 = await service.snapshotPage(g1.id, 2, p2.next ?? undefined);
    assert.deepEqual(
      [...p1.entries, ...p2.entries, ...p3.entries].map((e) => e.id),
      ids,
    );
    assert.deepEqual([p1.next, p2.next, p3.next], [ids[1], ids[3], null], "a short page ends it");
    await assert.rejects(service.snapshotPage(g1.id, 2, "ent_unknown"), validation("/after"));
    await assert.rejects(service.snapshotPage(g1b.id, 2, ids[0]), validation("/after"), "another golem's entry is no cursor");
  });

  it("reads a snapshot page larger than its read chunk whole, in order, and ends it right", async () => {
    const { service } = await setup();
    const n = SNAPSHOT_CHUNK * 2 + 3;
    const mine = await service.writeMany(Array.from({ length: n }, (_, i) => write(g1, { content: `n${i}` })));
    await service.writeMany(Array.from({ length: 5 }, (_, i) => write(g1b, { content: `sibling ${i}` })));
    const ids = mine.map((r) => r.id);
    const p1 = await service.snapshotPage(g1.id, SNAPSHOT_CHUNK * 2);
    assert.deepEqual(
      p1.entries.map((e) => e.id),
      ids.slice(0, SNAPSHOT_CHUNK * 2),
    );
    assert.equal(p1.next, ids[SNAPSHOT_CHUNK * 2 - 1]);
    const p2 = await service.snapshotPage(g1.id, SNAPSHOT_CHUNK * 2, p1.next ?? undefined);
    assert.deepEqual(
      p2.entries.map((e) => e.id),
      ids.slice(SNAPSHOT_CHUNK * 2),
    );
    assert.equal(p2.next, null, "a short page ends it");
    const exact = await service.snapshotPage(g1.id, n);
    assert.equal(exact.entries.length, n);
    assert.equal(exact.next, ids[n - 1], "a full page names its last entry");
  });

  it("withdraws a queued lethe copy of a deleted entry, and keeps a published one anonymized", async () => {
    const { service, lethe, clock, snapshot, store, vectors } = await setup();
    const { entries } = testEntryService({ store, vectors, clock });
    const del = async (e: Entry | undefined) => (await entries.delete(callerOf(g1.userId), (e as Entry).id, {})).lethe;
    await service.write(write(g1, { layer: "lethe", domain: "perps", confidence: 0.9, content: "queued copy" }));
    await service.write(write(g1, { layer: "lethe", domain: "perps", confidence: 0.9, content: "published copy" }));
    await service.write(write(g1, { content: "private only" }));
    const [queued, published, plain] = await snapshot(g1);
    clock.advance(MINUTE);
    assert.equal(await del(queued), "none");
    assert.deepEqual(await lethe.publishDue(), { published: 1, reinforced: 0 }, "only the copy not withdrawn");
    assert.equal(await del(published), "kept_anonymized");
    assert.equal(await del(plain), "none");
  });
});
