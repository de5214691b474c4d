import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteErasureStore } from "../../../src/adapters/sqlite/sqlite-erasure-store.js";
import { SqliteEventLog } from "../../../src/adapters/sqlite/sqlite-event-log.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import type { DeathRecord } from "../../../src/core/coordination/death.js";
import { ERASED_CHANNEL } from "../../../src/core/fabric/history.js";
import { golemStream, userStream } from "../../../src/core/fabric/streams.js";
import { TieredHistory } from "../../../src/core/fabric/tiered-history.js";
import { anonymizedDeath, ERASED_USER, type ErasureJob, erasedGolemAlias } from "../../../src/core/identity/erasure.js";
import { ErasureService } from "../../../src/core/identity/erasure-service.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { callerOf, TEST_SECRET_KEY, testEntryService, testQuotaService } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

/** The erasure service over the micronode's stores in RAM, with a user `usr_e` holding golems `g1` and `g2`. */
async function setup(opts: { beforeStep?: (job: ErasureJob, step: string) => Promise<void> } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 11, 1));
  const db = openDatabase(":memory:");
  const audit = new MemoryAuditLog(clock, TEST_SECRET_KEY);
  const users = new SqliteIdentityStore(db);
  const identity = new IdentityService({ store: users, audit, clock, defaultTier: "consumer" });
  await identity.createUser("admin", { id: "usr_e" });
  for (const id of ["g1", "g2"]) await identity.registerGolem(callerOf("usr_e"), { id });
  const g1Key = await identity.createKey("admin", "usr_e", { name: "g1", golemId: "g1" });
  const ownerKey = await identity.createKey("admin", "usr_e", { name: "owner" });
  const store = new SqliteEntryStore(db);
  const blobs = new MemoryBlobStore();
  const quotas = testQuotaService(db, { users, entries: store, audit, clock });
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const { entries } = testEntryService({ store, vectors, clock, quota: quotas });
  const history = new TieredHistory({ log: new SqliteEventLog(db), blobs, clock });
  await history.open();
  const presence = new MemoryPresence();
  const deaths = new SqliteDeathStore(db, { entries: store, pheromones: new SqlitePheromoneStore(db) });
  const erasure = new SqliteErasureStore(db);
  const service = new ErasureService({
    store: erasure,
    identity: users,
    revokeKey: (actor, keyId) => identity.revokeKey(actor, keyId),
    endSession: async () => undefined,
    presence,
    entries: store,
    removeEntry: (e) => entries.remove(e),
    blobs,
    quota: quotas,
    history,
    deaths,
    sourceOf: (golemId) => `src-${golemId}`,
    audit,
    clock,
    beforeStep: opts.beforeStep,
  });
  let n = 0;
  const write = async (golemId: string, contentBlob: string | null = null) => {
    n++;
    const [stored] = await store.insertMany([
      {
        entry: {
          id: `ent_${n}`,
          userId: "usr_e",
          golemId,
          category: "insight",
          content: `note ${n}`,
          contentHash: `h${n}`,
          contentBlob,
          embedding: null,
          domain: null,
          regime: null,
          confidence: 0.5,
          affect: null,
          emotion: null,
          metadata: {},
          isBloodstain: false,
          inClade: false,
          createdAt: clock.now(),
          expiresAt: null,
          letheAt: null,
          idempotencyKey: null,
          validations: 0,
          contradictions: 0,
          letheWaiting: false,
        },
      },
    ]);
    return stored?.entry.id as string;
  };
  const put = async (text: string) => (await quotas.putBlob("usr_e", bytesOf(text), 1 << 20, blobs)).cid;
  return { clock, db, audit, users, identity, store, blobs, history, presence, erasure, service, write, put, g1Key, ownerKey };
}

const golemTarget = { kind: "golem", userId: "usr_e", golemId: "g1" } as const;

describe("ErasureService", () => {
  it("erases a golem: its entries, its sole blob, its key, its stream; the sibling's entry and shared blob stay", async () => {
    const t = await setup();
    const sole = await t.put("only g1");
    const shared = await t.put("g1 and g2");
    const gone = [await t.write("g1"), await t.write("g1", sole), await t.write("g1", shared)];
    const kept = await t.write("g2", shared);
    await t.history.append({ stream: golemStream("g1"), channel: "styx:steer", payload: { golem_id: "g1" } });
    await t.history.append({ stream: userStream("usr_e"), channel: "styx:steer", payload: { golem_id: "g1" } });
    await t.history.append({ stream: userStream("usr_e"), channel: "styx:steer", payload: { golem_id: "g2" } });
    // A clade delta g1 sent, as its sibling's stream holds it, then one of g2's own.
    await t.history.append({ stream: golemStream("g2"), channel: "styx:clade:delta", payload: { golem_id: "g1", entries: [] } });
    await t.history.append({ stream: golemStream("g2"), channel: "styx:steer", payload: { golem_id: "g2" } });
    await t.presence.beat({ golemId: "g1", userId: "usr_e", at: t.clock.now() } as never);
    t.db.prepare("INSERT INTO source_directory (source_hash, sealed_golem) VALUES ('src-g1', 'sealed'), ('src-g2', 'sealed')").run();

    const job = await t.service.request("user:usr_e", golemTarget);
    assert.equal(job.state, "running");
    assert.equal((await t.service.request("user:usr_e", golemTarget)).id, job.id, "asked twice while running: one job");
    assert.equal(await t.service.runPending(), 1);

    const done = await t.service.status(job.id, "usr_e");
    assert.equal(done.state, "done");
    assert.equal(done.target, null, "a finished job forgets what it erased");
    assert.equal(await t.users.getGolem("g1"), undefined);
    for (const id of gone) assert.equal(await t.store.getEntry(id, 0), undefined);
    assert.ok(await t.store.getEntry(kept, 0));
    assert.equal(await t.blobs.stat("usr_e", sole), undefined);
    assert.ok(await t.blobs.stat("usr_e", shared));
    assert.equal((await t.users.getApiKey(t.g1Key.key.id))?.id, undefined, "the golem's key is gone");
    assert.equal((await t.users.getApiKey(t.ownerKey.key.id))?.revokedAt, null, "the owner's key is untouched");
    assert.equal(await t.presence.ofGolem("g1"), undefined);
    assert.deepEqual(
      t.db.prepare("SELECT source_hash FROM source_directory").all(),
      [{ source_hash: "src-g2" }],
      "its sealed source entry is gone",
    );
    assert.equal((await t.history.position(golemStream("g1"))).seq, 0);
    const replay = await t.history.recover(userStream("usr_e"), { epoch: t.history.epoch, seq: 0 });
    assert.ok(replay.recovered);
    const events = [];
    for await (const page of replay.pages) events.push(...page);
    assert.deepEqual(
      events.map((e) => [e.seq, e.channel, e.payloadJson]),
      [
        [1, ERASED_CHANNEL, "{}"],
        [2, "styx:steer", '{"golem_id":"g2"}'],
      ],
      "the owner's stream keeps its numbering; the golem's event is a tombstone",
    );
    const sibling = await t.history.recover(golemStream("g2"), { epoch: t.history.epoch, seq: 0 });
    assert.ok(sibling.recovered);
    const siblingEvents = [];
    for await (const page of sibling.pages) siblingEvents.push(...page);
    assert.deepEqual(
      siblingEvents.map((e) => [e.seq, e.channel, e.payloadJson]),
      [
        [1, ERASED_CHANNEL, "{}"],
        [2, "styx:steer", '{"golem_id":"g2"}'],
      ],
      "the sibling's stream keeps no clade delta of the erased golem",
    );
    const actions = (await t.audit.list(0, 100)).map((r) => r.action);
    assert.ok(actions.includes("golem.erase") && actions.includes("erasure.done") && actions.includes("key.revoke"), actions.join());
  });

  it("resumes a job stopped between steps at the next step, and every step may run again", async () => {
    let stopAt: string | undefined = "entries";
    const t = await setup({
      beforeStep: async (_job, step) => {
        if (step === stopAt) throw new Error("crash");
      },
    });
    const e = await t.write("g1");
    const job = await t.service.request("user:usr_e", golemTarget);
    await assert.rejects(t.service.runPending(), /crash/);
    const stopped = await t.erasure.get(job.id);
    assert.equal(stopped?.state, "running");
    assert.equal(stopped?.step, 3, "credentials, presence and records were done");
    assert.equal(await t.users.getGolem("g1"), undefined);
    assert.ok(await t.store.getEntry(e, 0), "the entries step had not run");
    stopAt = undefined;
    // Every step again from the first: each finds its work done or does it.
    t.db.prepare("UPDATE erasure_jobs SET step = 0 WHERE id = ?").run(job.id);
    assert.equal(await t.service.runPending(), 1);
    assert.equal(await t.store.getEntry(e, 0), undefined);
    assert.equal((await t.erasure.get(job.id))?.state, "done");
  });

  it("erases a user: every golem, entry and blob, even one no entry named; keys revoked and removed", async () => {
    const t = await setup();
    const loose = await t.put("a backup nobody references");
    await t.write("g1");
    await t.write("g2");
    await t.history.append({ stream: userStream("usr_e"), channel: "styx:steer", payload: {} });
    const job = await t.service.request("admin", { kind: "user", userId: "usr_e" });
    await t.service.runPending();
    assert.equal((await t.service.status(job.id, null)).state, "done");
    assert.equal(await t.users.getUser("usr_e"), undefined);
    assert.deepEqual(await t.users.listGolems("usr_e"), []);
    assert.deepEqual(await t.users.listApiKeys("usr_e"), []);
    assert.equal(await t.blobs.stat("usr_e", loose), undefined);
    assert.equal(t.blobs.count, 0);
    assert.equal((await t.history.position(userStream("usr_e"))).seq, 0);
    assert.deepEqual(t.db.prepare("SELECT id FROM entries").all(), []);
  });

  it("answers 404 for another user's job", async () => {
    const t = await setup();
    const job = await t.service.request("user:usr_e", golemTarget);
    await assert.rejects(t.service.status(job.id, "usr_other"), (err: { code?: string }) => err.code === "STYX_NOT_FOUND");
    await assert.rejects(t.service.status("er_missing", null), (err: { code?: string }) => err.code === "STYX_NOT_FOUND");
  });
});

describe("ErasureService and federation links (SPEC §17)", () => {
  it("removes the links of the erased user's keys and of an erased golem's keys, and nobody else's", async () => {
    const t = await setup();
    const federation = new SqliteFederationStore(t.db);
    await t.identity.createUser("admin", { id: "usr_other" });
    const link = (keyId: string, userId: string) => ({
      keyId,
      userId,
      instanceId: "sx_0123456789abcdef",
      version: "1",
      flows: ["pheromone"],
      domains: ["*"],
      embedDim: 4,
      helloAt: 1,
      lastSeenAt: 1,
    });
    await federation.saveLink(link(t.g1Key.key.id, "usr_e"));
    await federation.saveLink(link(t.ownerKey.key.id, "usr_e"));
    await federation.saveLink(link("key_of_other", "usr_other"));
    await t.service.request("admin", golemTarget);
    await t.service.runPending();
    assert.deepEqual(
      (await federation.links()).map((l) => l.keyId).sort(),
      [t.ownerKey.key.id, "key_of_other"].sort(),
      "the golem's key's link went with the golem",
    );
    await t.service.request("admin", { kind: "user", userId: "usr_e" });
    await t.service.runPending();
    assert.deepEqual(
      (await federation.links()).map((l) => l.keyId),
      ["key_of_other"],
    );
  });
});

describe("anonymizedDeath", () => {
  const death = {
    golemId: "g1",
    userId: "usr_e",
    generation: 2,
    deathCause: "liquidated",
    diedAt: 10,
    recordedAt: 11,
    ticksLived: 5,
    warnings: 1,
    causalEdges: 0,
    testamentExcerpt: "my last words",
    somaticFragment: { mood: "calm" },
    signed: false,
    bornAt: 1,
    finalPhase: "declining",
    finalPad: null,
    finalNav: 0.5,
    domains: ["defi"],
    result: { golemId: "g1", diedAt: 10, entryIds: ["ent_1"], pheromoneIds: ["ph_1"], letheQueued: 1 },
  } satisfies DeathRecord;

  it("replaces the golem's id and words, keeps the graveyard's facts; the user's id only when the user goes", () => {
    const alias = erasedGolemAlias("er_1", "g1");
    const a = anonymizedDeath(death, alias, false);
    assert.equal(a.golemId, alias);
    assert.equal(a.userId, "usr_e");
    assert.equal(a.testamentExcerpt, null);
    assert.equal(a.somaticFragment, null);
    assert.deepEqual(a.result, { golemId: alias, diedAt: 10, entryIds: [], pheromoneIds: ["ph_1"], letheQueued: 1 });
    assert.deepEqual([a.deathCause, a.generation, a.finalPhase, a.domains], ["liquidated", 2, "declining", ["defi"]]);
    assert.equal(anonymizedDeath(death, alias, true).userId, ERASED_USER);
    assert.equal(erasedGolemAlias("er_1", "g1"), alias, "the same job writes the same alias again");
    assert.notEqual(erasedGolemAlias("er_2", "g1"), alias);
  });
});
