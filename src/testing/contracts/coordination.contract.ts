import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CausalPublication, CausalStore } from "../../core/coordination/causal.js";
import { BASE_HALF_LIFE_MS, fadesAt, HV_BITS, HV_BYTES } from "../../core/coordination/pheromone.js";
import type { PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";

const T0 = 1_800_000_000_000;
let ids = 0;

function dep(over: Partial<PheromoneDeposit> = {}): PheromoneDeposit {
  return {
    id: `phe_c${++ids}`,
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: "src-a",
    metadata: {},
    hv: null,
    ...over,
  };
}

/** A hypervector with exactly the bits `from`…`to - 1` set (so similarities are exact). */
function hv(from: number, to: number): Uint8Array {
  const v = new Uint8Array(HV_BYTES);
  for (let bit = from; bit < to; bit++) v[bit >> 3] = (v[bit >> 3] as number) | (1 << (bit & 7));
  return v;
}

/** The behaviour every PheromoneStore must show (SPEC §5 on the store's side). */
export function describePheromoneStoreContract(name: string, make: () => Promise<PheromoneStore> | PheromoneStore): void {
  describe(`PheromoneStore contract: ${name}`, () => {
    it("creates, then reinforces the live pheromone of the same key: a new source confirms, the same source refreshes", async () => {
      const s = await make();
      const a = await s.deposit(dep(), T0);
      assert.deepEqual([a.reinforced, a.confirmed, a.pheromone.confirmations], [false, false, 0]);
      const same = await s.deposit(dep({ intensity: 0.9 }), T0 + 1000);
      assert.deepEqual(
        [same.pheromone.id, same.reinforced, same.confirmed, same.pheromone.confirmations],
        [a.pheromone.id, true, false, 0],
      );
      assert.equal(same.pheromone.intensity, 0.9);
      const other = await s.deposit(dep({ sourceHash: "src-b", intensity: 0.1 }), T0 + 2000);
      assert.deepEqual([other.pheromone.id, other.confirmed, other.pheromone.confirmations], [a.pheromone.id, true, 1]);
      assert.ok(Math.abs(other.pheromone.intensity - 0.9) < 0.001, "max(current, new)");
      // Each source confirms once: the first depositor and the second coming back add nothing.
      const first = await s.deposit(dep({ intensity: 0.2 }), T0 + 3000);
      const second = await s.deposit(dep({ sourceHash: "src-b", intensity: 0.2 }), T0 + 4000);
      assert.deepEqual(
        [first.confirmed, first.pheromone.confirmations, second.confirmed, second.pheromone.confirmations],
        [false, 1, false, 1],
      );
      const third = await s.deposit(dep({ sourceHash: "src-c", intensity: 0.2 }), T0 + 5000);
      assert.deepEqual([third.confirmed, third.pheromone.confirmations], [true, 2]);
    });

    it("stores a new pheromone as deposited; a reinforcement moves its deposit time, never its birth or first source", async () => {
      const s = await make();
      const metadata = { tags: ["rug", "ünï"], depth: { n: 2.5, ok: true, none: null }, note: "\u0000 is kept" };
      const a = await s.deposit(dep({ metadata, layer: "opportunity" }), T0);
      assert.deepEqual(a.pheromone, {
        ...dep({ id: a.pheromone.id, metadata, layer: "opportunity" }),
        confirmations: 0,
        depositedAt: T0,
        createdAt: T0,
      });
      const [read] = await s.live(["defi"], "bull", T0);
      assert.deepEqual(read, a.pheromone, "reads back as returned");
      const b = await s.deposit(dep({ layer: "opportunity", sourceHash: "src-b", metadata: { other: 1 } }), T0 + 5000);
      assert.deepEqual(
        [b.pheromone.createdAt, b.pheromone.depositedAt, b.pheromone.sourceHash, b.pheromone.metadata],
        [T0, T0 + 5000, "src-a", metadata],
      );
      assert.deepEqual((await s.live(["defi"], undefined, T0 + 5000))[0], b.pheromone);
    });

    it("keeps different keys apart and answers live reads by domain and regime", async () => {
      const s = await make();
      await s.deposit(dep({ domain: "d1" }), T0);
      await s.deposit(dep({ domain: "d1", class: "other" }), T0);
      await s.deposit(dep({ domain: "d1", regime: "bear" }), T0);
      await s.deposit(dep({ domain: "d2" }), T0);
      await s.deposit(dep({ domain: "d1", layer: "wisdom" }), T0);
      assert.equal((await s.live(["d1"], undefined, T0)).length, 4, "the layer is part of the key");
      assert.equal((await s.live(["d1"], "bear", T0)).length, 1);
      assert.equal((await s.live(["d1", "d2"], undefined, T0)).length, 5);
      assert.equal((await s.live(["d1", "d1"], undefined, T0)).length, 4, "a domain named twice counts once");
      assert.deepEqual(await s.live([], undefined, T0), []);
      assert.equal((await s.allLive(T0)).length, 5);
      assert.equal(await s.countLive(T0), 5);
    });

    it("never matches or returns a pheromone past fadesAt, and evaporation deletes exactly those", async () => {
      const s = await make();
      const weak = await s.deposit(dep({ intensity: 0.1, class: "weak" }), T0);
      await s.deposit(dep({ intensity: 0.9, class: "strong" }), T0);
      const gone = fadesAt(weak.pheromone);
      assert.equal(gone, T0 + BASE_HALF_LIFE_MS.threat, "0.1 → 0.05 in one half-life");
      assert.equal((await s.live(["defi"], undefined, gone + 1)).length, 1);
      const again = await s.deposit(dep({ intensity: 0.1, class: "weak", sourceHash: "src-b" }), gone + 1);
      assert.equal(again.reinforced, false, "a faded pheromone is not reinforced");
      assert.equal(await s.evaporate(gone + 1), 1);
      assert.equal(await s.countLive(gone + 1), 2);
    });

    it("reinforces, with a hypervector, the most similar live one of its cell and layer above 0.6 similarity, whatever its class", async () => {
      const s = await make();
      // Similarities to hv(0, 0) (all zeros): 1 − set bits / 10,240.
      const zero = await s.deposit(dep({ class: "a", hv: hv(0, 0) }), T0);
      const far = await s.deposit(dep({ class: "b", hv: hv(0, 5000) }), T0);
      assert.equal(far.reinforced, false, "0.51 similar: a pheromone of its own");
      const edge = await s.deposit(dep({ class: "c", hv: hv(5000, 9096) }), T0);
      assert.equal(edge.reinforced, false, "exactly 0.6 similar to zero (and less to far) is not above 0.6");
      const near = await s.deposit(dep({ class: "other", hv: hv(0, 100), sourceHash: "src-b" }), T0 + 1);
      assert.deepEqual(
        [near.pheromone.id, near.reinforced, near.confirmed, near.pheromone.class],
        [zero.pheromone.id, true, true, "a"],
        "the most similar (0.99) wins over far (0.50); the first class stays",
      );
      const otherLayer = await s.deposit(dep({ layer: "wisdom", hv: hv(0, 100) }), T0 + 2);
      assert.equal(otherLayer.reinforced, false, "another layer is another field");
      const otherRegime = await s.deposit(dep({ regime: "bear", hv: hv(0, 100) }), T0 + 2);
      assert.equal(otherRegime.reinforced, false, "another regime is another cell");
    });

    it("bundles the hypervectors of a pheromone by majority vote, a tie keeping the oldest bit", async () => {
      const s = await make();
      const a = await s.deposit(dep({ hv: hv(0, 0) }), T0);
      const two = await s.deposit(dep({ hv: hv(0, 100), sourceHash: "src-b" }), T0 + 1);
      assert.deepEqual(two.pheromone.hv, hv(0, 0), "1 of 2 is a tie: the oldest member's bit");
      const three = await s.deposit(dep({ hv: hv(0, 50), sourceHash: "src-c" }), T0 + 2);
      assert.equal(three.pheromone.id, a.pheromone.id);
      assert.deepEqual(three.pheromone.hv, hv(0, 50), "bits 0–49 are set in 2 of 3");
      assert.deepEqual((await s.live(["defi"], undefined, T0 + 2))[0]?.hv, hv(0, 50), "and so it is stored");
    });

    it("never lets a deposit without a hypervector match one with, nor the reverse", async () => {
      const s = await make();
      const plain = await s.deposit(dep(), T0);
      const withHv = await s.deposit(dep({ hv: hv(0, 10) }), T0);
      assert.equal(withHv.reinforced, false);
      const plainAgain = await s.deposit(dep({ sourceHash: "src-b" }), T0);
      assert.deepEqual([plainAgain.pheromone.id, plainAgain.reinforced], [plain.pheromone.id, true]);
      assert.equal(plainAgain.pheromone.hv, null);
      assert.equal(HV_BITS, 10_240);
    });

    it("applies concurrent deposits of one key without twins or lost confirmations", async () => {
      const s = await make();
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => s.deposit(dep({ class: "race", sourceHash: `src-${i}` }), T0)));
      assert.equal(new Set(all.map((o) => o.pheromone.id)).size, 1);
      assert.equal(Math.max(...all.map((o) => o.pheromone.confirmations)), 19);
      assert.equal((await s.live(["defi"], undefined, T0)).length, 1);
    });
  });
}

function pub(over: Partial<CausalPublication> = {}): CausalPublication {
  return {
    id: `cau_c${++ids}`,
    fromVariable: "x",
    toVariable: "y",
    domain: "d",
    regime: "r",
    direction: "positive",
    strength: "strong",
    lagTicks: 1,
    evidenceCount: 5,
    confidence: 0.7,
    publisherHash: "p1",
    ...over,
  };
}

/** The behaviour every CausalStore must show (SPEC §7 on the store's side). */
export function describeCausalStoreContract(name: string, make: () => Promise<CausalStore> | CausalStore): void {
  describe(`CausalStore contract: ${name}`, () => {
    it("creates an edge once per key and counts each other publisher's vote once", async () => {
      const s = await make();
      const first = await s.publish(pub(), T0);
      assert.equal(first.outcome, "created");
      assert.equal((await s.publish(pub({ direction: "negative" }), T0)).outcome, "unchanged");
      assert.equal((await s.publish(pub({ publisherHash: "p2" }), T0)).outcome, "validated");
      assert.equal((await s.publish(pub({ publisherHash: "p2" }), T0)).outcome, "unchanged");
      const c = await s.publish(pub({ publisherHash: "p3", direction: "negative" }), T0);
      assert.deepEqual([c.outcome, c.edge.id, c.edge.validations, c.edge.contradictions], ["contradicted", first.edge.id, 1, 1]);
      assert.equal((await s.publish(pub({ regime: "other" }), T0)).outcome, "created", "another key");
    });

    it("keeps the first publisher's facts: later votes change only the counts", async () => {
      const s = await make();
      const first = await s.publish(pub({ strength: "weak", confidence: 0.65, lagTicks: 3, evidenceCount: 4 }), T0);
      const v = await s.publish(
        pub({ publisherHash: "p2", strength: "dominant", confidence: 0.99, lagTicks: 9, evidenceCount: 50 }),
        T0 + 10,
      );
      assert.deepEqual(v.edge, { ...first.edge, validations: 1, updatedAt: v.edge.updatedAt });
      assert.deepEqual(
        [first.edge.validations, first.edge.contradictions, first.edge.createdAt, first.edge.publisherHash],
        [0, 0, T0, "p1"],
      );
      const [found] = await s.discover({ minValidations: 1, limit: 10 });
      assert.deepEqual(found, v.edge, "discover reads the edge as publish returned it");
    });

    it("discovers by domain, regime and either end's variable, up to the limit, ties by id", async () => {
      const s = await make();
      await s.publish(pub({ id: "cau_b", fromVariable: "x", toVariable: "y1" }), T0);
      await s.publish(pub({ id: "cau_a", fromVariable: "x", toVariable: "y2" }), T0);
      await s.publish(pub({ id: "cau_c", fromVariable: "w", toVariable: "x", regime: "bear" }), T0);
      assert.deepEqual(
        (await s.discover({ minValidations: 0, limit: 10 })).map((e) => e.id),
        ["cau_a", "cau_b", "cau_c"],
        "equal votes and confidence: by id",
      );
      assert.deepEqual(
        (await s.discover({ minValidations: 0, limit: 2 })).map((e) => e.id),
        ["cau_a", "cau_b"],
      );
      assert.deepEqual(
        (await s.discover({ regime: "bear", minValidations: 0, limit: 10 })).map((e) => e.id),
        ["cau_c"],
      );
      assert.deepEqual(
        (await s.discover({ variable: "x", minValidations: 0, limit: 10 })).map((e) => e.id),
        ["cau_a", "cau_b", "cau_c"],
        "x at either end",
      );
      assert.deepEqual(
        (await s.discover({ variable: "y2", minValidations: 0, limit: 10 })).map((e) => e.id),
        ["cau_a"],
      );
      assert.deepEqual(await s.discover({ domain: "nowhere", minValidations: 0, limit: 10 }), []);
    });

    it("discovers by filter, ordered by validations then confidence", async () => {
      const s = await make();
      await s.publish(pub({ toVariable: "a", confidence: 0.9 }), T0);
      await s.publish(pub({ toVariable: "b", confidence: 0.7 }), T0);
      await s.publish(pub({ toVariable: "b", confidence: 0.7, publisherHash: "p2" }), T0);
      await s.publish(pub({ toVariable: "c", confidence: 0.95, domain: "elsewhere" }), T0);
      const found = await s.discover({ domain: "d", minValidations: 0, limit: 10 });
      assert.deepEqual(
        found.map((e) => e.toVariable),
        ["b", "a"],
      );
      assert.deepEqual(
        (await s.discover({ variable: "c", minValidations: 0, limit: 10 })).map((e) => e.domain),
        ["elsewhere"],
      );
      assert.equal((await s.discover({ minValidations: 1, limit: 10 })).length, 1);
    });
  });
}
