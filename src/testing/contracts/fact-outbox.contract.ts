import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { CausalPublication, CausalStore } from "../../core/coordination/causal.js";
import type { PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import type { FederationStore, OutboxEntry } from "../../core/federation/federation-store.js";
import type { FederationRecord } from "../../core/federation/records.js";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import { candidateFixture, T as ENTRY_T, entryFixture } from "./entry-fixtures.js";
import { causalRecord, letheRecord, pheromoneRecord, FED_T0 as T } from "./federation-fixtures.js";

/** The fact stores of one database and the federation store reading its outbox. */
export interface FactOutboxHarness {
  readonly pheromones: PheromoneStore;
  readonly causal: CausalStore;
  readonly entries: EntryStore;
  readonly federation: FederationStore;
  close?(): Promise<void>;
}

function entry(record: FederationRecord): OutboxEntry {
  return { record, enqueuedAt: T };
}

/** An outbox entry whose row cannot be written (its time is not a date): the write it rides with must fail whole. */
function unwritable(record: FederationRecord): OutboxEntry {
  return { record: { ...record, at: Number.NaN }, enqueuedAt: T };
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
 * SPEC §17.2.3 on the stores' side: a fact written with an outbox entry queues its record in the
 * same transaction — stored and queued together, or neither.
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
  });
}
