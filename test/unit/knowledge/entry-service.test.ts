import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { letheSourceOf } from "../../../src/core/knowledge/anonymize.js";
import { decodeCursor, encodeCursor, letheAfterDelete, MAX_METADATA_FILTERS } from "../../../src/core/knowledge/entry-service.js";
import { KnowledgeService } from "../../../src/core/knowledge/knowledge-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { aliveGolem, callerOf, TEST_SECRET_KEY, testEntryService, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const a1 = aliveGolem("glm_e1", "usr_e");
const a2 = aliveGolem("glm_e2", "usr_e");
const b1 = aliveGolem("glm_f1", "usr_f");

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const store = new SqliteEntryStore(openDatabase(":memory:"));
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const released: [string, number][] = [];
  const knowledge = new KnowledgeService({
    store,
    vectors,
    clock,
    dimensions: 4,
    letheDelay: { minMs: 60_000, maxMs: 60_000 },
    letheK: 1,
    key: TEST_SECRET_KEY,
    pipeline: testPipeline(),
  });
  const { entries, audit } = testEntryService({
    store,
    vectors,
    clock,
    quota: { releaseBytes: (user, bytes) => released.push([user, bytes]) },
  });
  const write = async (golem = a1, content = "a note", extra: Record<string, unknown> = {}) => {
    clock.advance(1);
    return knowledge.write({ golem, layer: "clade", category: "insight", confidence: 0.9, content, ...extra });
  };
  return { clock, store, vectors, entries, audit, released, write };
}

const notFound = (err: { code?: string }) => err.code === "STYX_NOT_FOUND";

describe("EntryService", () => {
  it("answers another user's entry as absent, and audits the attempt", async () => {
    const t = await setup();
    const w = await t.write();
    assert.equal((await t.entries.get(callerOf("usr_e"), w.id, {})).id, w.id);
    await assert.rejects(t.entries.get(callerOf("usr_f"), w.id, {}), notFound);
    await assert.rejects(t.entries.delete(callerOf("usr_f"), w.id, {}), notFound);
    await assert.rejects(t.entries.validate(callerOf("usr_f"), w.id, b1, true, {}), notFound);
    const denied = (await t.audit.list(0, 100)).filter((r) => r.action === "tenancy.denied").map((r) => r.target);
    assert.deepEqual(denied, [`entry:${w.id}`, `entry:${w.id}`, `entry:${w.id}`]);
  });

  it("confines a golem credential: its own entries and the clade to read, its own to delete, its own to list", async () => {
    const t = await setup();
    const sibling = await t.write(a2, "sibling private", { layer: "vault" });
    const shared = await t.write(a2, "sibling clade");
    const mine = await t.write(a1, "mine", { layer: "vault" });
    const g = callerOf("usr_e", a1.id);
    await assert.rejects(t.entries.get(g, sibling.id, {}), notFound);
    assert.equal((await t.entries.get(g, shared.id, {})).id, shared.id);
    await assert.rejects(t.entries.delete(g, shared.id, {}), notFound);
    assert.deepEqual(
      (await t.entries.list(g, { metadata: [], limit: 10, golemId: a2.id })).entries.map((e) => e.id),
      [mine.id],
      "a golem credential lists its own golem's entries whatever it names",
    );
    assert.equal((await t.entries.delete(g, mine.id, {})).id, mine.id);
  });

  it("delete removes the vectors of every namespace and gives the bytes back", async () => {
    const t = await setup();
    const w = await t.write(a1, "héllo", { embedding: [1, 0, 0, 0], metadata: { k: 1 } });
    await t.vectors.flush();
    assert.equal((await t.vectors.search("clade:usr_e", new Float32Array([1, 0, 0, 0]), 5)).length, 1);
    const r = await t.entries.delete(callerOf("usr_e"), w.id, {});
    assert.deepEqual(r, { id: w.id, deleted: ["vault:usr_e", "clade:usr_e"], lethe: "none" });
    for (const ns of r.deleted) assert.deepEqual(await t.vectors.search(ns, new Float32Array([1, 0, 0, 0]), 5), []);
    assert.deepEqual(t.released, [["usr_e", Buffer.byteLength("héllo") + JSON.stringify({ k: 1 }).length]]);
    await assert.rejects(t.entries.delete(callerOf("usr_e"), w.id, {}), notFound, "a second delete is a 404");
  });

  it("validate: another golem counts once, the writer is refused; lethe: another user, once per user", async () => {
    const t = await setup();
    const w = await t.write(a1);
    const owner = callerOf("usr_e");
    await assert.rejects(t.entries.validate(owner, w.id, a1, true, {}), (e: { code?: string }) => e.code === "STYX_CONFLICT");
    assert.deepEqual(await t.entries.validate(owner, w.id, a2, false, {}), {
      id: w.id,
      layer: "clade",
      validations: 0,
      contradictions: 1,
      counted: true,
    });
    assert.equal((await t.entries.validate(owner, w.id, a2, true, {})).counted, false);

    const lethe = await t.write(a1, "public", { layer: "lethe", domain: "perps" });
    assert.ok(lethe.letheAt);
    const [candidate] = await t.store.dueLethe(lethe.letheAt as number, 10);
    const published = await t.store.publishLethe(candidate as NonNullable<typeof candidate>, "h", lethe.letheAt as number);
    assert.ok(published);
    assert.deepEqual(published.sources, [letheSourceOf("usr_e", TEST_SECRET_KEY)]);
    await assert.rejects(t.entries.validate(owner, published.id, a2, true, {}), (e: { code?: string }) => e.code === "STYX_CONFLICT");
    const bob = callerOf("usr_f");
    assert.equal((await t.entries.validate(bob, published.id, b1, true, {})).validations, 1);
    const other = aliveGolem("glm_f2", "usr_f");
    assert.equal((await t.entries.validate(bob, published.id, other, true, {})).counted, false, "golems of one user count once");
  });

  it("list pages with an opaque cursor and refuses cursors it did not make", async () => {
    const t = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.write(a1, `n${i}`)).id);
    const owner = callerOf("usr_e");
    const p1 = await t.entries.list(owner, { metadata: [], limit: 3 });
    assert.ok(p1.next);
    const p2 = await t.entries.list(owner, { metadata: [], limit: 3, cursor: p1.next });
    assert.deepEqual(
      [...p1.entries, ...p2.entries].map((e) => e.id),
      ids,
    );
    assert.equal(p2.next, null);
    const tooMany = Array.from({ length: MAX_METADATA_FILTERS + 1 }, (_, i) => [`k${i}`, "v"] as const);
    await assert.rejects(t.entries.list(owner, { metadata: tooMany, limit: 3 }), (e: { code?: string }) => e.code === "STYX_VALIDATION");
    await assert.rejects(
      t.entries.list(owner, { metadata: [["", "v"]], limit: 3 }),
      (e: { code?: string }) => e.code === "STYX_VALIDATION",
    );
  });
});

describe("entry cursors and lethe answers", () => {
  it("a cursor round-trips, and anything else is a 400 on /cursor", () => {
    const c = encodeCursor({ createdAt: 1_780_000_000_000, id: "ent_abc-_9" });
    assert.deepEqual(decodeCursor(c), { createdAt: 1_780_000_000_000, id: "ent_abc-_9" });
    for (const bad of ["", "x", `${c}A`, Buffer.from("1~a~b").toString("base64url"), Buffer.from("1.5~a").toString("base64url")]) {
      assert.throws(
        () => decodeCursor(bad),
        (e: { code?: string; details?: { path: string }[] }) => e.code === "STYX_VALIDATION" && e.details?.[0]?.path === "/cursor",
        bad,
      );
    }
  });

  it("letheAfterDelete: none without a copy or with the queued one removed, kept_anonymized once public", () => {
    assert.equal(letheAfterDelete({ letheAt: null, letheWaiting: false }, false), "none");
    assert.equal(letheAfterDelete({ letheAt: null, letheWaiting: true }, true), "none");
    assert.equal(letheAfterDelete({ letheAt: 5, letheWaiting: false }, true), "none");
    assert.equal(letheAfterDelete({ letheAt: 5, letheWaiting: false }, false), "kept_anonymized");
  });
});
