import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import { BlobService } from "../../../src/core/knowledge/blob-service.js";
import { KnowledgeService } from "../../../src/core/knowledge/knowledge-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { aliveGolem, callerOf, TEST_SECRET_KEY, testEntryService, testPipeline, testQuotaService } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const HOUR = 3_600_000;
const GRACE = 24 * HOUR;
const g1 = aliveGolem("glm_b1", "usr_b");
const owner = callerOf("usr_b");

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

/** Blobs, entries and quotas as the micronode wires them, in RAM, on a manual clock. */
async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const db = openDatabase(":memory:");
  const audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
  const users = new SqliteIdentityStore(db);
  const identity = new IdentityService({ store: users, audit, clock, defaultTier: "consumer" });
  for (const id of ["usr_b", "usr_c"]) await identity.createUser("admin", { id });
  const store = new SqliteEntryStore(db);
  const blobs = new MemoryBlobStore();
  const quotas = testQuotaService(db, { users, entries: store, audit, clock });
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const knowledge = new KnowledgeService({
    store,
    vectors,
    clock,
    blobs,
    quota: quotas,
    dimensions: 4,
    letheDelay: { minMs: 60_000, maxMs: 60_000 },
    letheK: 1,
    key: TEST_SECRET_KEY,
    pipeline: testPipeline(),
  });
  const { entries } = testEntryService({ store, vectors, clock, quota: quotas });
  const service = new BlobService({ store, blobs, quota: quotas, audit, clock, graceMs: GRACE });
  const put = async (text: string, user = "usr_b") => (await quotas.putBlob(user, bytesOf(text), 1 << 20, blobs)).cid;
  const write = (cid: string, extra: Record<string, unknown> = {}) =>
    knowledge.write({ golem: g1, layer: "vault", category: "insight", content: "summary", contentBlob: cid, ...extra });
  const used = async (user = "usr_b") => (await quotas.usage(user)).quotas.get("stored_bytes")?.used;
  return { clock, audit, store, blobs, quotas, entries, service, put, write, used };
}

const code = (c: string) => (err: { code?: string }) => err.code === c;

describe("BlobService.delete", () => {
  it("refuses with 409 STYX_CONFLICT while an entry of the owner names the blob, counting them", async () => {
    const t = await setup();
    const cid = await t.put("the full content");
    await t.write(cid);
    await t.write(cid);
    await assert.rejects(t.service.delete(owner, cid), (err: { code?: string; details?: unknown }) => {
      assert.equal(err.code, "STYX_CONFLICT");
      assert.deepEqual(err.details, { references: 2 });
      return true;
    });
    assert.ok(await t.blobs.stat("usr_b", cid), "nothing released");
  });

  it("deletes an unreferenced blob: released, bytes given back, audited", async () => {
    const t = await setup();
    const cid = await t.put("0123456789");
    const before = await t.used();
    assert.deepEqual(await t.service.delete(owner, cid, { requestId: "r1" }), { cid, deleted: true });
    assert.equal(await t.blobs.stat("usr_b", cid), undefined);
    assert.equal(t.blobs.count, 0, "no one else held it: the bytes are gone");
    assert.equal(await t.used(), (before ?? 0) - 10);
    const rec = (await t.audit.list(0, 100)).find((r) => r.action === "blob.delete");
    assert.equal(rec?.actor, "user:usr_b");
    assert.equal(rec?.target, `blob:${cid}`);
  });

  it("answers 404 for a cid the caller never stored, even when another user holds it", async () => {
    const t = await setup();
    const cid = await t.put("shared bytes", "usr_c");
    await assert.rejects(t.service.delete(owner, cid), code("STYX_NOT_FOUND"));
    await assert.rejects(t.service.delete(owner, `b3:${"0".repeat(64)}`), code("STYX_NOT_FOUND"));
    assert.ok(await t.blobs.stat("usr_c", cid), "the other user's reference is untouched");
  });

  it("is allowed once the referencing entry is deleted; an expired entry references nothing", async () => {
    const t = await setup();
    const cid = await t.put("kept by one entry");
    const w = await t.write(cid);
    const cid2 = await t.put("kept by an expiring entry");
    await t.write(cid2, { ttlSeconds: 60 });
    await t.entries.delete(owner, w.id, {});
    assert.equal((await t.service.delete(owner, cid)).deleted, true);
    t.clock.advance(60_000);
    assert.equal((await t.service.delete(owner, cid2)).deleted, true);
    assert.deepEqual(await t.store.blobOrphans(Number.MAX_SAFE_INTEGER, 10), [], "the delete took the orphan mark along");
  });

  it("keeps another user's reference to the same bytes", async () => {
    const t = await setup();
    const cid = await t.put("same bytes");
    await t.put("same bytes", "usr_c");
    await t.service.delete(owner, cid);
    assert.equal(t.blobs.count, 1);
    assert.ok(await t.blobs.stat("usr_c", cid));
  });
});

describe("BlobService.collect", () => {
  it("releases a blob whose last entry was deleted once the grace has passed, not before", async () => {
    const t = await setup();
    const cid = await t.put("orphan to be");
    const w = await t.write(cid);
    const before = await t.used();
    await t.entries.delete(owner, w.id, {});
    t.clock.advance(GRACE - 1);
    assert.deepEqual(await t.service.collect(), { released: 0, kept: 0 });
    assert.ok(await t.blobs.stat("usr_b", cid));
    t.clock.advance(1);
    assert.deepEqual(await t.service.collect(), { released: 1, kept: 0 });
    assert.equal(await t.blobs.stat("usr_b", cid), undefined);
    assert.equal(await t.used(), (before ?? 0) - "orphan to be".length - "summary".length - 2, "the entry's bytes and the blob's");
    assert.deepEqual(await t.store.blobOrphans(Number.MAX_SAFE_INTEGER, 10), []);
  });

  it("keeps a referenced blob and a blob no entry ever named", async () => {
    const t = await setup();
    const named = await t.put("named by an entry");
    await t.write(named);
    const backup = await t.put("a grimoire backup");
    t.clock.advance(10 * GRACE);
    assert.deepEqual(await t.service.collect(), { released: 0, kept: 0 });
    assert.ok(await t.blobs.stat("usr_b", named));
    assert.ok(await t.blobs.stat("usr_b", backup));
  });

  it("keeps a blob an entry named again during the grace, and restarts the grace when that entry goes", async () => {
    const t = await setup();
    const cid = await t.put("reused");
    const first = await t.write(cid);
    await t.entries.delete(owner, first.id, {});
    t.clock.advance(HOUR);
    const second = await t.write(cid);
    t.clock.advance(GRACE);
    assert.deepEqual(await t.service.collect(), { released: 0, kept: 1 });
    assert.ok(await t.blobs.stat("usr_b", cid));
    await t.entries.delete(owner, second.id, {});
    t.clock.advance(GRACE - 1);
    assert.deepEqual(await t.service.collect(), { released: 0, kept: 0 });
    t.clock.advance(1);
    assert.deepEqual(await t.service.collect(), { released: 1, kept: 0 });
  });

  it("releases the blob of an entry the TTL task purged, after the grace", async () => {
    const t = await setup();
    const cid = await t.put("short-lived");
    await t.write(cid, { ttlSeconds: 60 });
    t.clock.advance(60_000);
    await t.store.purgeExpired(t.clock.now());
    t.clock.advance(GRACE);
    assert.deepEqual(await t.service.collect(), { released: 1, kept: 0 });
    assert.equal(await t.blobs.stat("usr_b", cid), undefined);
  });

  it("drops the mark of a blob its owner already deleted, releasing nothing twice", async () => {
    const t = await setup();
    const cid = await t.put("deleted by hand");
    const w = await t.write(cid);
    await t.entries.delete(owner, w.id, {});
    await t.blobs.release("usr_b", cid);
    t.clock.advance(GRACE);
    assert.deepEqual(await t.service.collect(), { released: 0, kept: 0 });
    assert.deepEqual(await t.store.blobOrphans(Number.MAX_SAFE_INTEGER, 10), []);
  });
});
