import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { LocalEventBus } from "../../../src/adapters/memory/local-event-bus.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import type { SequencedEvent } from "../../../src/core/fabric/event-bus.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { letheSourceOf } from "../../../src/core/knowledge/anonymize.js";
import { KnowledgeService, type WriteResult } from "../../../src/core/knowledge/knowledge-service.js";
import { LetheService } from "../../../src/core/knowledge/lethe-service.js";
import { isEstablished } from "../../../src/core/knowledge/query.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { blake3Hex, initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";
import { aliveGolem, callerOf, testEntryService } from "../../../src/testing/core-kit.js";

const KEY = SecretKey.fromBase64(Buffer.alloc(32, 3).toString("base64"));
/** The real public pipeline, paced synchronously. */
const pipeline = new PublicPipeline({ directory: new IdentifierDirectory(), pause: async () => {} });

const MINUTE = 60_000;
const CONTENT = "funding squeeze precedes the liquidation cascade";

/** A golem `id` of user `userId`, alive. */
const golem = (userId: string, id: string): Golem => aliveGolem(id, userId);

/** A knowledge service and lethe publisher over an in-memory SQLite store, a manual clock and lethe delays of 1–5 min. */
function setup(letheK: number | undefined) {
  const clock = new ManualClock(Date.UTC(2026, 4, 1, 12));
  const store = new SqliteEntryStore(openDatabase(":memory:"));
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const events: Record<string, unknown>[] = [];
  let seq = 0;
  const bus = new LocalEventBus({
    append: async (e): Promise<SequencedEvent> => ({
      stream: e.stream,
      channel: e.channel,
      epoch: "e",
      seq: ++seq,
      ts: clock.now(),
      payloadJson: JSON.stringify(e.payload),
    }),
  });
  bus.subscribe((e) => events.push({ stream: e.stream, ...(JSON.parse(e.payloadJson) as Record<string, unknown>) }));
  const wakes: number[] = [];
  let draws = 0;
  const service = new KnowledgeService({
    store,
    vectors,
    clock,
    dimensions: 4,
    letheDelay: { minMs: MINUTE, maxMs: 5 * MINUTE },
    letheK,
    key: KEY,
    pipeline,
    // Delays cycle 5, 1, 3 min…: each candidate draws its own.
    random: () => [0.9999999999, 0, 0.5][draws++ % 3] ?? 0,
    onLetheQueued: (due) => wakes.push(due),
  });
  const lethe = new LetheService({ store, vectors, bus, clock, pipeline });
  const write = (user: string, golemId: string, domain = "perps", content = CONTENT): Promise<WriteResult> =>
    service.write({ golem: golem(user, golemId), layer: "lethe", category: "warning", confidence: 0.9, domain, content });
  const published = async (domain = "perps", content = CONTENT) => store.findLetheByHash(domain, blake3Hex(content));
  return { clock, store, vectors, service, lethe, events, wakes, write, published };
}

describe("lethe k-anonymity and quorum by distinct users", () => {
  before(initCrypto);

  it("keeps a domain's copies waiting while only 2 users wrote to it (k = 3), even long after they were due", async () => {
    const t = setup(3);
    const a = await t.write("alice", "alice-g1");
    const b = await t.write("bob", "bob-g1");
    for (const r of [a, b]) assert.deepEqual([r.letheWaiting, r.letheAt], [true, null]);
    assert.deepEqual(t.wakes, [], "nothing to wake the publisher for");
    t.clock.advance(48 * 60 * MINUTE);
    assert.deepEqual(await t.lethe.publishDue(), { published: 0, reinforced: 0 });
    assert.equal(await t.published(), undefined);
    assert.equal(await t.lethe.nextDue(), undefined);
  });

  it("publishes once the 3rd user writes: every waiting copy is due at that moment plus its own delay, and the publisher is woken", async () => {
    const t = setup(3);
    await t.write("alice", "alice-g1", "perps", "the first squeeze"); // delay 5 min
    await t.write("bob", "bob-g1", "perps", "the second squeeze"); // delay 1 min
    await t.write("dave", "dave-g1", "lending", "elsewhere"); // another domain: 3 min, waits
    t.clock.advance(30 * MINUTE);
    const met = t.clock.now();
    const carol = await t.write("carol", "carol-g1", "perps", "the third squeeze"); // delay 5 min
    assert.equal(carol.letheWaiting, false);
    assert.equal(carol.letheAt, met + 5 * MINUTE, "the k-th write is due after its own delay");
    assert.deepEqual(t.wakes.sort(), [met + MINUTE, met + 5 * MINUTE], "woken for the earliest released copy and its own");

    t.clock.set(met + MINUTE - 1);
    assert.equal((await t.lethe.publishDue()).published, 0, "released copies are not published at once");
    t.clock.set(met + MINUTE);
    assert.equal((await t.lethe.publishDue()).published, 1);
    assert.ok(await t.published("perps", "the second squeeze"), "the 2nd copy after its 1 min from the 3rd user's write");
    t.clock.set(met + 5 * MINUTE);
    assert.equal((await t.lethe.publishDue()).published, 2);
    assert.ok(await t.published("perps", "the first squeeze"));
    assert.ok(await t.published("perps", "the third squeeze"));
    assert.equal(await t.published("lending", "elsewhere"), undefined, "one user's domain still waits");
    assert.ok(
      t.events.every((e) => e.stream === "domain:perps"),
      "no event for the waiting domain",
    );
  });

  it("never establishes what 4 golems of one user wrote: they are one source, refreshing, never confirming", async () => {
    const t = setup(1);
    for (let i = 1; i <= 4; i++) {
      await t.write("alice", `alice-g${i}`);
      t.clock.advance(10 * MINUTE);
      await t.lethe.publishDue();
    }
    const e = await t.published();
    assert.ok(e, "published");
    assert.deepEqual(e.sources, [letheSourceOf("alice", KEY)]);
    assert.equal(isEstablished(e), false);
    assert.deepEqual(
      t.events.map((ev) => [ev.reinforced, ev.confirmations, ev.established]),
      [
        [false, 0, false],
        [true, 0, false],
        [true, 0, false],
        [true, 0, false],
      ],
    );
  });

  it("establishes the same content from 3 distinct users (k = 3), whichever golems they write from", async () => {
    const t = setup(3);
    await t.write("alice", "alice-g1");
    await t.write("alice", "alice-g2");
    await t.write("bob", "bob-g1");
    await t.write("carol", "carol-g7");
    t.clock.advance(10 * MINUTE);
    assert.deepEqual(await t.lethe.publishDue(), { published: 1, reinforced: 3 });
    const e = await t.published();
    assert.equal(e?.sources.length, 3);
    assert.ok(e && isEstablished(e), "3 distinct users establish it");
    assert.deepEqual(t.events.at(-1)?.established, true);
  });

  it("with k = 1 publishes after the delay as before, and answers lethe_at at once", async () => {
    const t = setup(1);
    const r = await t.write("alice", "alice-g1");
    assert.equal(r.letheWaiting, false);
    assert.equal(r.letheAt, t.clock.now() + 5 * MINUTE);
    assert.deepEqual(t.wakes, [r.letheAt]);
    t.clock.set(r.letheAt as number);
    assert.equal((await t.lethe.publishDue()).published, 1);
  });

  it("defaults to k = 3 when none is configured", async () => {
    const t = setup(undefined);
    assert.equal((await t.write("alice", "alice-g1")).letheWaiting, true);
    assert.equal((await t.write("bob", "bob-g1")).letheWaiting, true);
    assert.equal((await t.write("carol", "carol-g1")).letheWaiting, false);
  });

  it("releases, at the first pass after a restart with a lower STYX_LETHE_K, the copies left waiting in domains that now reach it", async () => {
    const t = setup(3);
    await t.write("alice", "alice-g1", "perps", "the first squeeze");
    await t.write("bob", "bob-g1", "perps", "the second squeeze");
    await t.write("dave", "dave-g1", "lending", "elsewhere");
    t.clock.advance(60 * MINUTE);
    const restarted = new LetheService({
      store: t.store,
      vectors: new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 }),
      bus: new LocalEventBus({
        append: async (e) => ({ stream: e.stream, channel: e.channel, epoch: "e", seq: 1, ts: 0, payloadJson: "{}" }),
      }),
      clock: t.clock,
      pipeline,
      letheK: 2,
    });
    assert.equal((await restarted.publishDue()).published, 0, "released, due after their own delay from now");
    t.clock.advance(5 * MINUTE);
    assert.equal((await restarted.publishDue()).published, 2);
    assert.equal(await t.published("lending", "elsewhere"), undefined, "a domain with one user still waits");
  });

  it("counts only writes that queue a lethe copy: vault, clade and gated-out lethe writes never move a domain toward k", async () => {
    const t = setup(2);
    const g = golem("bob", "bob-g1");
    await t.service.write({ golem: g, layer: "vault", category: "warning", confidence: 0.9, domain: "perps", content: "private" });
    await t.service.write({ golem: g, layer: "clade", category: "warning", confidence: 0.9, domain: "perps", content: "clade" });
    await t.service.write({ golem: g, layer: "lethe", category: "warning", confidence: 0.5, domain: "perps", content: "too unsure" });
    assert.equal((await t.write("alice", "alice-g1")).letheWaiting, true, "bob never counted");
  });

  it("a delete of an entry whose copy is still queued removes the copy; a published one is kept anonymized", async () => {
    const t = setup(3);
    const waiting = await t.write("alice", "alice-g1", "perps", "a waiting copy");
    const entryOf = async (r: WriteResult) => {
      const found = (await t.store.pageGolemEntries("alice-g1", 0, 100, t.clock.now())).find((x) => x.id === r.id);
      assert.ok(found, "stored");
      return found;
    };
    const { entries } = testEntryService({ store: t.store, vectors: t.vectors, clock: t.clock, key: KEY });
    const alice = callerOf("alice");
    const del = async (r: WriteResult) => (await entries.delete(alice, (await entryOf(r)).id, {})).lethe;
    assert.equal(await del(waiting), "none");
    await t.write("bob", "bob-g1");
    await t.write("carol", "carol-g1");
    t.clock.advance(10 * MINUTE);
    await t.lethe.publishDue();
    assert.equal(await t.published("perps", "a waiting copy"), undefined, "the withdrawn copy was never published");

    const due = await t.write("alice", "alice-g1", "perps", "a due copy");
    assert.equal(due.letheWaiting, false);
    assert.equal(await del(due), "none", "queued, not yet due");
    const late = await t.write("alice", "alice-g1", "perps", "a published copy");
    t.clock.advance(10 * MINUTE);
    await t.lethe.publishDue();
    assert.ok(await t.published("perps", "a published copy"));
    assert.equal(await del(late), "kept_anonymized");
    const vaultOnly = await t.service.write({
      golem: golem("alice", "alice-g1"),
      layer: "vault",
      category: "insight",
      content: "mine",
    });
    assert.equal(await del(vaultOnly), "none");
  });
});
