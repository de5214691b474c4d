import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { CausalPublication, CausalStore } from "../../core/coordination/causal.js";
import type { PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import type { EventBus, StyxEvent } from "../../core/fabric/event-bus.js";
import type { FederationStore, OutboxEntry } from "../../core/federation/federation-store.js";
import type { FederationRecord } from "../../core/federation/records.js";
import { RecordRelay } from "../../core/federation/relay.js";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import { recordToWire } from "../../protocol/federation-codec.js";
import { candidateFixture, T as ENTRY_T, entryFixture } from "./entry-fixtures.js";
import { causalRecord, letheRecord, pheromoneRecord, FED_T0 as T } from "./federation-fixtures.js";

/** The fact stores of one database and the federation store reading its outboxes. */
export interface FactOutboxHarness {
  readonly pheromones: PheromoneStore;
  readonly causal: CausalStore;
  readonly entries: EntryStore;
  readonly federation: FederationStore;
  /**
   * The federation store of another process on the same data, opened after this one stopped
   * without a word (its connection closed, or a second pool): what a restarted process, or the
   * next leader, reads the relay outbox with.
   */
  restarted?(): Promise<FederationStore>;
  close?(): Promise<void>;
}

type Way = { up: boolean; down: boolean };
const UP: Way = { up: true, down: false };
const DOWN: Way = { up: false, down: true };
const BOTH: Way = { up: true, down: true };

function entry(record: FederationRecord, way: Way = UP): OutboxEntry {
  return { record, enqueuedAt: T, ...way };
}

/** An outbox entry whose row cannot be written (its time is not a date): the write it rides with must fail whole. */
function unwritable(record: FederationRecord, way: Way = UP): OutboxEntry {
  return { record: { ...record, at: Number.NaN }, enqueuedAt: T, ...way };
}

/** A bus that keeps what it is given (the relay's publishes), numbering each stream's events. */
function keepingBus(): Pick<EventBus, "publish"> & { readonly events: StyxEvent[] } {
  const events: StyxEvent[] = [];
  return {
    events,
    publish: async (e) => {
      events.push(e);
      const seq = events.filter((x) => x.stream === e.stream).length;
      return { stream: e.stream, epoch: "e1", channel: e.channel, seq, ts: T, payloadJson: JSON.stringify(e.payload) };
    },
  };
}

function deposit(id: string, over: Partial<PheromoneDeposit> = {}): PheromoneDeposit {
  return {
    id,
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: "s1",
    metadata: {},
    hv: null,
    ...over,
  };
}

function publication(id: string, over: Partial<CausalPublication> = {}): CausalPublication {
  return {
    id,
    fromVariable: "gas",
    toVariable: "slippage",
    domain: "defi",
    regime: "bull",
    direction: "positive",
    strength: "strong",
    lagTicks: 3,
    evidenceCount: 12,
    confidence: 0.75,
    publisherHash: "p1",
    ...over,
  };
}

/**
 * SPEC §17.2 on the stores' side: a fact written with an outbox entry queues its record in the
 * same transaction — into the outbox up, the relay outbox down, or both — stored and queued
 * together, or neither; and a relay outbox item outlives the process that wrote it.
 */
export function describeFactOutboxContract(name: string, make: () => Promise<FactOutboxHarness> | FactOutboxHarness): void {
  describe(`Fact stores write the federation outbox in the write's transaction: ${name}`, () => {
    let h: FactOutboxHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close?.();
    });

    async function queued(): Promise<FederationRecord[]> {
      return (await h.federation.due(Number.MAX_SAFE_INTEGER, 100)).map((i) => i.record);
    }

    async function relaying(): Promise<FederationRecord[]> {
      return (await h.federation.relayPending(100)).map((i) => i.record);
    }

    /** Queues a lethe candidate the way the knowledge service does: with its source entry. */
    async function candidate(id: string, source = "src-a") {
      const c = candidateFixture(id, { source });
      await h.entries.insert(entryFixture(`src-${id}`), c);
      return c;
    }

    it("queues a deposit's record with it, new or reinforcing, and nothing for a deposit without one", async () => {
      await h.pheromones.deposit(deposit("phe_1"), T, entry(pheromoneRecord("phe_1")));
      await h.pheromones.deposit(deposit("phe_2", { sourceHash: "s2" }), T + 1, entry(pheromoneRecord("phe_2")));
      await h.pheromones.deposit(deposit("phe_3", { class: "drain" }), T + 2);
      assert.deepEqual(await queued(), [pheromoneRecord("phe_1"), pheromoneRecord("phe_2")]);
    });

    it("stores neither a deposit nor its record when the row cannot be written, and keeps its neighbours of the same turn", async () => {
      const [bad, good] = await Promise.allSettled([
        h.pheromones.deposit(deposit("phe_bad", { class: "drain" }), T, unwritable(pheromoneRecord("phe_bad"))),
        h.pheromones.deposit(deposit("phe_ok"), T, entry(pheromoneRecord("phe_ok"))),
      ]);
      assert.equal(bad.status, "rejected");
      assert.equal(good.status, "fulfilled");
      assert.deepEqual(
        (await h.pheromones.live(["defi"], undefined, T)).map((p) => p.id),
        ["phe_ok"],
      );
      assert.deepEqual(await queued(), [pheromoneRecord("phe_ok")]);
    });

    it("queues no record for a deposit, causal edge or lethe entry that could not be stored (its id already taken)", async () => {
      await h.pheromones.deposit(deposit("phe_1"), T);
      await assert.rejects(h.pheromones.deposit(deposit("phe_1", { class: "drain" }), T, entry(pheromoneRecord("phe_1"))));
      await h.causal.publish(publication("cau_1"), T);
      await assert.rejects(h.causal.publish(publication("cau_1", { fromVariable: "tvl" }), T, entry(causalRecord("cau_1"))));
      const c = await candidate("c1");
      await h.entries.publishLethe(c, "h1", ENTRY_T + 5);
      await h.entries.insert(entryFixture("src-c1-again"), c);
      await assert.rejects(h.entries.publishLethe(c, "h2", ENTRY_T + 6, entry(letheRecord("c1"))));
      assert.deepEqual(await queued(), []);
    });

    it("queues a causal publication's record when it created or voted, not when the publisher had voted already", async () => {
      await h.causal.publish(publication("cau_1"), T, entry(causalRecord("cau_1")));
      const again = await h.causal.publish(publication("cau_2"), T + 1, entry(causalRecord("cau_2")));
      assert.equal(again.outcome, "unchanged");
      await h.causal.publish(publication("cau_3", { publisherHash: "p2" }), T + 2, entry(causalRecord("cau_3")));
      assert.deepEqual(await queued(), [causalRecord("cau_1"), causalRecord("cau_3")]);
    });

    it("stores neither a causal edge nor its record when the row cannot be written", async () => {
      await assert.rejects(h.causal.publish(publication("cau_1"), T, unwritable(causalRecord("cau_1"))));
      assert.deepEqual(await h.causal.discover({ minValidations: 0, limit: 10 }), []);
      assert.deepEqual(await queued(), []);
    });

    it("queues a published lethe entry's record with it, and none when the candidate was already gone", async () => {
      const c = await candidate("c1");
      assert.ok(await h.entries.publishLethe(c, "h1", ENTRY_T + 5, entry(letheRecord("c1"))));
      assert.equal(await h.entries.publishLethe(c, "h1", ENTRY_T + 6, entry(letheRecord("c1-again"))), undefined);
      assert.deepEqual(await queued(), [letheRecord("c1")]);
    });

    it("publishes no lethe entry and keeps the candidate queued when its record cannot be written", async () => {
      const c = await candidate("c1");
      await assert.rejects(h.entries.publishLethe(c, "h1", ENTRY_T + 5, unwritable(letheRecord("c1"))));
      assert.equal(await h.entries.findLetheByHash(c.domain, "h1"), undefined);
      assert.deepEqual(
        (await h.entries.dueLethe(c.dueAt, 10)).map((q) => q.id),
        ["c1"],
      );
      assert.deepEqual(await queued(), []);
    });

    it("queues a reinforcing candidate's record with the confirmation, and none when the candidate was already gone", async () => {
      const l = await h.entries.publishLethe(await candidate("c1"), "h1", ENTRY_T + 5);
      assert.ok(l);
      await candidate("c2", "src-b");
      const confirm = { source: "src-b", confidence: 0.7, fromBloodstain: false, at: ENTRY_T + 6 };
      assert.ok(await h.entries.reinforceLethe("c2", l.seq, confirm, entry(letheRecord("c2"))));
      assert.equal(await h.entries.reinforceLethe("c2", l.seq, confirm, entry(letheRecord("c2-again"))), undefined);
      assert.deepEqual(await queued(), [letheRecord("c2")]);
    });

    it("confirms nothing and keeps the candidate queued when the reinforcing record cannot be written", async () => {
      const l = await h.entries.publishLethe(await candidate("c1"), "h1", ENTRY_T + 5);
      assert.ok(l);
      const c2 = await candidate("c2", "src-b");
      const confirm = { source: "src-b", confidence: 0.7, fromBloodstain: false, at: ENTRY_T + 6 };
      await assert.rejects(h.entries.reinforceLethe("c2", l.seq, confirm, unwritable(letheRecord("c2"))));
      assert.deepEqual((await h.entries.findLetheByHash(c2.domain, "h1"))?.sources, ["src-a"]);
      assert.deepEqual(
        (await h.entries.dueLethe(c2.dueAt, 10)).map((q) => q.id),
        ["c2"],
      );
      assert.deepEqual(await queued(), []);
    });

    it("writes a record going down into the relay outbox with its fact, one going both ways into both outboxes", async () => {
      await h.pheromones.deposit(deposit("phe_down"), T, entry(pheromoneRecord("phe_down"), DOWN));
      await h.pheromones.deposit(deposit("phe_both", { sourceHash: "s2" }), T + 1, entry(pheromoneRecord("phe_both"), BOTH));
      await h.causal.publish(publication("cau_down"), T, entry(causalRecord("cau_down"), DOWN));
      const again = await h.causal.publish(publication("cau_again"), T + 1, entry(causalRecord("cau_again"), DOWN));
      assert.equal(again.outcome, "unchanged", "the same publisher again: nothing written, nothing relayed");
      const l = await h.entries.publishLethe(await candidate("c1"), "h1", ENTRY_T + 5, entry(letheRecord("c1"), BOTH));
      assert.ok(l);
      await candidate("c2", "src-b");
      const confirm = { source: "src-b", confidence: 0.7, fromBloodstain: false, at: ENTRY_T + 6 };
      assert.ok(await h.entries.reinforceLethe("c2", l.seq, confirm, entry(letheRecord("c2"), DOWN)));
      assert.deepEqual(await relaying(), [
        pheromoneRecord("phe_down"),
        pheromoneRecord("phe_both"),
        causalRecord("cau_down"),
        letheRecord("c1"),
        letheRecord("c2"),
      ]);
      assert.deepEqual(await queued(), [pheromoneRecord("phe_both"), letheRecord("c1")]);
      assert.equal(await h.federation.relayDepth(), 5);
    });

    it("stores no fact and relays nothing when its relay row cannot be written, and keeps its neighbours of the same turn", async () => {
      const [bad, good] = await Promise.allSettled([
        h.pheromones.deposit(deposit("phe_bad", { class: "drain" }), T, unwritable(pheromoneRecord("phe_bad"), DOWN)),
        h.pheromones.deposit(deposit("phe_ok"), T, entry(pheromoneRecord("phe_ok"), DOWN)),
      ]);
      assert.equal(bad.status, "rejected");
      assert.equal(good.status, "fulfilled");
      assert.deepEqual(
        (await h.pheromones.live(["defi"], undefined, T)).map((p) => p.id),
        ["phe_ok"],
      );
      await assert.rejects(h.causal.publish(publication("cau_bad"), T, unwritable(causalRecord("cau_bad"), BOTH)));
      const c = await candidate("c1");
      await assert.rejects(h.entries.publishLethe(c, "h1", ENTRY_T + 5, unwritable(letheRecord("c1"), DOWN)));
      assert.deepEqual(await relaying(), [pheromoneRecord("phe_ok")]);
      assert.deepEqual(await queued(), []);
    });

    it("lists relay items oldest first, at most `limit`, deletes those relayed and never reuses a seq", async () => {
      for (const id of ["p1", "p2", "p3"]) await h.pheromones.deposit(deposit(id, { sourceHash: id }), T, entry(pheromoneRecord(id), DOWN));
      const items = await h.federation.relayPending(2);
      assert.deepEqual(
        items.map((i) => [i.record.id, i.enqueuedAt]),
        [
          ["p1", T],
          ["p2", T],
        ],
      );
      assert.ok((items[0]?.seq ?? 0) < (items[1]?.seq ?? 0));
      assert.deepEqual(await h.federation.relayPending(0), []);
      await h.federation.relayed([items[1]?.seq ?? 0]);
      await h.federation.relayed([]);
      assert.deepEqual(
        (await relaying()).map((r) => r.id),
        ["p1", "p3"],
      );
      await h.federation.relayed([items[0]?.seq ?? 0]);
      await h.pheromones.deposit(deposit("p4", { sourceHash: "p4" }), T, entry(pheromoneRecord("p4"), DOWN));
      const after = await h.federation.relayPending(10);
      assert.deepEqual(
        after.map((i) => i.record.id),
        ["p3", "p4"],
      );
      assert.ok(after.every((i) => i.seq > (items[1]?.seq ?? 0)));
      assert.equal(await h.federation.relayDepth(), 2);
    });

    it("relays after a crash between the fact's commit and its publish: a new relay on a restarted store publishes it once", async () => {
      await h.pheromones.deposit(deposit("phe_1"), T, entry(pheromoneRecord("phe_1"), DOWN));
      await h.causal.publish(publication("cau_1"), T + 1, entry(causalRecord("cau_1"), BOTH));
      // The process that wrote them dies here: its relay never ran.
      const store = (await h.restarted?.()) ?? h.federation;
      const bus = keepingBus();
      const relay = new RecordRelay({ store, bus, wire: (r) => recordToWire(r) as unknown as Record<string, unknown> });
      assert.equal(await relay.drain(), 2);
      assert.deepEqual(
        bus.events.map((e) => [e.stream, e.channel, e.payload]),
        [
          ["federation:defi", "styx:federation:record", recordToWire(pheromoneRecord("phe_1"))],
          ["federation:defi", "styx:federation:record", recordToWire(causalRecord("cau_1"))],
        ],
      );
      assert.equal(await store.relayDepth(), 0, "deleted once published");
      assert.equal(await relay.drain(), 0, "nothing published twice");
      assert.deepEqual(
        (await store.due(Number.MAX_SAFE_INTEGER, 10)).map((i) => i.record.id),
        ["cau_1"],
        "the upstream's copy waits in its own outbox",
      );
    });
  });
}
