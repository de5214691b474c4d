import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pulse } from "../../core/coordination/engagement.js";
import type { PulseStore } from "../../core/coordination/pulse-store.js";

/** A pulse with every field set (regimes keyed by awkward strings). */
export function pulseFixture(computedAt: number, activeGolems = 2): Pulse {
  return {
    computedAt,
    activeGolems,
    deadTotal: 5,
    deaths24h: 1,
    pheromones: { threat: { live: 2, intensity: 1.25 }, opportunity: { live: 0, intensity: 0 }, wisdom: { live: 1, intensity: 0.5 } },
    topDomains: [
      { domain: "defi", pheromones: 2 },
      { domain: "nft", pheromones: 1 },
    ],
    meanPad: { pleasure: 0.2, arousal: -0.3, dominance: 0.1 },
    regimes: new Map([
      ["bull", 1],
      ["__proto__", 1],
    ]),
  };
}

/**
 * The behaviour every PulseStore must show; `make` returns two handles on one empty store
 * (two processes of one Styx, or the same object twice for a process-local store).
 */
export function describePulseStoreContract(name: string, make: () => Promise<[PulseStore, PulseStore]> | [PulseStore, PulseStore]): void {
  describe(`PulseStore contract: ${name}`, () => {
    it("has no pulse until one is put", async () => {
      const [a] = await make();
      assert.equal(await a.latest(), undefined);
    });

    it("returns the last pulse put through either handle, whole (regimes as a Map)", async () => {
      const [a, b] = await make();
      await a.put(pulseFixture(1000));
      assert.deepEqual(await b.latest(), pulseFixture(1000));
      await b.put(pulseFixture(2000, 7));
      assert.deepEqual(await a.latest(), pulseFixture(2000, 7));
      const read = await a.latest();
      assert.equal(read?.regimes.get("__proto__"), 1);
      assert.equal(Object.getPrototypeOf(read?.regimes), Map.prototype);
    });
  });
}
