import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CausalPublication, CausalStore } from "../../core/coordination/causal.js";
import { BASE_HALF_LIFE_MS, fadesAt } from "../../core/coordination/pheromone.js";
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
    });

    it("keeps different keys apart and answers live reads by domain and regime", async () => {
      const s = await make();
      await s.deposit(dep({ domain: "d1" }), T0);
      await s.deposit(dep({ domain: "d1", class: "other" }), T0);
      await s.deposit(dep({ domain: "d1", regime: "bear" }), T0);
      await s.deposit(dep({ domain: "d2" }), T0);
      assert.equal((await s.live(["d1"], undefined, T0)).length, 3);
      assert.equal((await s.live(["d1"], "bear", T0)).length, 1);
      assert.equal((await s.live(["d1", "d2"], undefined, T0)).length, 4);
      assert.equal(await s.countLive(T0), 4);
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
