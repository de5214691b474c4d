import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { earned } from "../../../src/core/coordination/achievements.js";
import { strengthBucket } from "../../../src/core/coordination/causal.js";
import { computePulse, lineageForest } from "../../../src/core/coordination/engagement.js";
import {
  BASE_HALF_LIFE_MS,
  bundle,
  currentIntensity,
  EVAPORATION_THRESHOLD,
  effectiveHalfLifeMs,
  fadesAt,
  HV_BITS,
  HV_BYTES,
  HV_REINFORCE_SIMILARITY,
  hammingSimilarity,
  mostSimilar,
  type Pheromone,
  reinforce,
} from "../../../src/core/coordination/pheromone.js";
import { addedMember, newPheromone, type PheromoneDeposit, reinforcedBy } from "../../../src/core/coordination/pheromone-store.js";
import type { GolemPresence } from "../../../src/core/fabric/presence.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { aliveGolem } from "../../../src/testing/core-kit.js";

const T0 = Date.UTC(2026, 10, 1);

function pheromone(over: Partial<Pheromone> = {}): Pheromone {
  return {
    id: "p",
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    confirmations: 0,
    depositedAt: T0,
    createdAt: T0,
    sourceHash: "s",
    metadata: {},
    hv: null,
    ...over,
  };
}

/** A copy of `hv` with its first `n` bits flipped. */
function flip(hv: Uint8Array, n: number): Uint8Array {
  const out = Uint8Array.from(hv);
  for (let i = 0; i < n; i++) out[i >> 3] = (out[i >> 3] as number) ^ (1 << (i & 7));
  return out;
}

describe("pheromone decay", () => {
  it("is 0.5× after one half-life, for every layer, within 1e-9", () => {
    for (const layer of ["threat", "opportunity", "wisdom"] as const) {
      const p = pheromone({ layer });
      assert.ok(Math.abs(currentIntensity(p, T0 + BASE_HALF_LIFE_MS[layer]) - 0.4) < 1e-9, layer);
    }
  });

  it("has the base half-lives of SPEC §5 and doubles it with 2 confirmations", () => {
    assert.deepEqual(BASE_HALF_LIFE_MS, { threat: 7_200_000, opportunity: 43_200_000, wisdom: 604_800_000 });
    assert.equal(effectiveHalfLifeMs("threat", 2), 2 * BASE_HALF_LIFE_MS.threat);
    const p = pheromone({ confirmations: 2 });
    assert.ok(Math.abs(currentIntensity(p, T0 + 2 * BASE_HALF_LIFE_MS.threat) - 0.4) < 1e-9);
  });

  it("fades under the threshold exactly at fadesAt", () => {
    const p = pheromone({ intensity: 0.8, confirmations: 1 });
    const t = fadesAt(p);
    assert.ok(currentIntensity(p, t) <= EVAPORATION_THRESHOLD + 1e-12);
    assert.ok(currentIntensity(p, t - 1000) > EVAPORATION_THRESHOLD);
  });

  it("reinforces to max(current, new) and counts only a new source", () => {
    const p = pheromone({ intensity: 0.8 });
    const later = T0 + BASE_HALF_LIFE_MS.threat;
    const r = reinforce(p, 0.3, true, later);
    assert.ok(Math.abs(r.intensity - 0.4) < 1e-9, "the decayed 0.4 beats a new 0.3");
    assert.deepEqual([r.confirmations, r.confirmed], [1, true]);
    assert.deepEqual(reinforce(p, 0.7, false, later), { intensity: 0.7, confirmations: 0, confirmed: false });
  });
});

describe("hypervectors", () => {
  const a = Uint8Array.from({ length: HV_BYTES }, (_, i) => (i * 37 + 11) & 0xff);

  it("measures Hamming similarity as 1 − differing bits / 10,240", () => {
    assert.equal(hammingSimilarity(a, a), 1);
    assert.ok(Math.abs(hammingSimilarity(a, flip(a, 3993)) - (1 - 3993 / HV_BITS)) < 1e-12);
    assert.equal(hammingSimilarity(a, flip(a, HV_BITS)), 0);
  });

  it("bundles by majority vote, ties keeping the oldest member's bit", () => {
    const b = flip(a, 100);
    const c = flip(a, 50);
    assert.deepEqual(bundle([a, b, c]), flip(a, 50), "bits 0–49 are flipped in b and c, 50–99 only in b");
    assert.deepEqual(bundle([a, b]), a);
  });
});

describe("pheromone matching", () => {
  const a = Uint8Array.from({ length: HV_BYTES }, (_, i) => (i * 37 + 11) & 0xff);
  /** Bits to flip for a similarity exactly at the threshold. */
  const atThreshold = Math.round((1 - HV_REINFORCE_SIMILARITY) * HV_BITS);

  it("picks the most similar candidate, whatever the order", () => {
    const near = pheromone({ id: "near", hv: flip(a, 100) });
    const far = pheromone({ id: "far", hv: flip(a, 2000) });
    assert.equal(mostSimilar([far, near], a)?.id, "near");
    assert.equal(mostSimilar([near, far], a)?.id, "near");
  });

  it("matches only strictly above the threshold", () => {
    assert.equal(hammingSimilarity(a, flip(a, atThreshold)), HV_REINFORCE_SIMILARITY);
    assert.equal(mostSimilar([pheromone({ hv: flip(a, atThreshold) })], a), undefined);
    assert.equal(mostSimilar([pheromone({ id: "in", hv: flip(a, atThreshold - 1) })], a)?.id, "in");
  });

  it("keeps the first of equally similar candidates", () => {
    const first = pheromone({ id: "first", hv: flip(a, 10) });
    const second = pheromone({ id: "second", hv: flip(a, 10) });
    assert.equal(mostSimilar([first, second], a)?.id, "first");
  });

  it("never matches a candidate without a hypervector, nor an empty cell", () => {
    assert.equal(mostSimilar([pheromone({ hv: null })], a), undefined);
    assert.equal(mostSimilar([], a), undefined);
  });
});

describe("pheromone deposits", () => {
  const hv = Uint8Array.from({ length: HV_BYTES }, (_, i) => (i * 13 + 5) & 0xff);
  const deposit = (over: Partial<PheromoneDeposit> = {}): PheromoneDeposit => ({
    id: "new",
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.3,
    sourceHash: "s2",
    metadata: { k: 1 },
    hv: null,
    ...over,
  });

  it("creates an unconfirmed pheromone deposited and created now", () => {
    const p = newPheromone(deposit({ hv }), T0 + 5);
    assert.deepEqual(
      [p.id, p.intensity, p.confirmations, p.depositedAt, p.createdAt, p.sourceHash, p.metadata, p.hv],
      ["new", 0.3, 0, T0 + 5, T0 + 5, "s2", { k: 1 }, hv],
    );
  });

  it("adds a member vector only when both the deposit and its match carry one", () => {
    assert.equal(addedMember(pheromone({ hv }), deposit({ hv: flip(hv, 3) }))?.length, HV_BYTES);
    assert.equal(addedMember(pheromone({ hv: null }), deposit({ hv })), null);
    assert.equal(addedMember(pheromone({ hv }), deposit({ hv: null })), null);
  });

  it("reinforces the match as of now, a new source confirming it", () => {
    const match = pheromone({ intensity: 0.8 });
    const later = T0 + BASE_HALF_LIFE_MS.threat;
    const o = reinforcedBy(match, deposit(), true, later, null);
    assert.deepEqual([o.reinforced, o.confirmed], [true, true]);
    assert.ok(Math.abs(o.pheromone.intensity - 0.4) < 1e-9, "the decayed 0.4 beats a new 0.3");
    assert.deepEqual(
      [o.pheromone.id, o.pheromone.confirmations, o.pheromone.depositedAt, o.pheromone.createdAt, o.pheromone.sourceHash],
      ["p", 1, later, T0, "s"],
    );
    const same = reinforcedBy(match, deposit({ intensity: 0.9 }), false, later, null);
    assert.deepEqual([same.confirmed, same.pheromone.confirmations, same.pheromone.intensity], [false, 0, 0.9]);
  });

  it("bundles the members into the match's hypervector, or keeps it without members", () => {
    const members = [hv, flip(hv, 100), flip(hv, 50)];
    assert.deepEqual(reinforcedBy(pheromone({ hv }), deposit({ hv: members[2] }), true, T0, members).pheromone.hv, flip(hv, 50));
    assert.equal(reinforcedBy(pheromone({ hv }), deposit(), true, T0, null).pheromone.hv, hv);
  });
});

describe("causal strength buckets", () => {
  it("puts each boundary in the upper bucket", () => {
    const cases: [number, string][] = [
      [0, "weak"],
      [0.2999999, "weak"],
      [0.3, "moderate"],
      [0.5999999, "moderate"],
      [0.6, "strong"],
      [0.8499999, "strong"],
      [0.85, "dominant"],
      [1, "dominant"],
    ];
    for (const [s, b] of cases) assert.equal(strengthBucket(s), b, String(s));
  });
});

describe("achievement rules", () => {
  it("unlock at their thresholds and not below", () => {
    assert.deepEqual(earned({ entriesWritten: 1 }), ["first_words"]);
    assert.deepEqual(earned({ entriesWritten: 0 }), []);
    assert.deepEqual(earned({ ticksLived: 9_999, generation: 2, edgeValidations: 4, depositConfirmations: 2 }), []);
    assert.deepEqual(
      earned({ ticksLived: 10_000, generation: 3, edgeValidations: 5, depositConfirmations: 3, firstBloodstainOfClade: true }),
      ["scarred", "elder", "third_generation", "prophet", "swarm"],
    );
  });
});

function golem(id: string, parent: string | null, generation: number): Golem {
  return aliveGolem(id, "u", { parentGolemId: parent, generation, createdAt: T0 });
}

describe("lineage forest", () => {
  it("nests three generations under their roots, siblings in order", () => {
    const forest = lineageForest([
      golem("a", null, 0),
      golem("b", null, 0),
      golem("a1", "a", 1),
      golem("a2", "a", 1),
      golem("a1x", "a1", 2),
      golem("orphan", "someone-elses", 1),
    ]);
    const shape = (n: { golem: Golem; children: readonly unknown[] }): unknown => [n.golem.id, n.children.map((c) => shape(c as never))];
    assert.deepEqual(forest.map(shape), [
      [
        "a",
        [
          ["a1", [["a1x", []]]],
          ["a2", []],
        ],
      ],
      ["b", []],
      ["orphan", []],
    ]);
  });
});

describe("pulse", () => {
  it("counts active golems, deaths, field intensity per layer, top domains, mean PAD and regimes", () => {
    const now = T0 + 3_600_000;
    const beat = (id: string, lastSeen: number, pad: GolemPresence["pad"], regime: string | null): GolemPresence => ({
      golemId: id,
      userId: "u",
      phase: null,
      vitality: null,
      pad,
      emotion: null,
      regime,
      tick: null,
      domains: [],
      dreaming: false,
      nav: null,
      lastSeen,
      archetype: null,
      generation: null,
      bornAt: null,
    });
    const pulse = computePulse({
      now,
      presence: [
        beat("g1", now - 1000, { pleasure: 0.5, arousal: 0, dominance: -0.5 }, "bull"),
        beat("g2", now - 2000, { pleasure: -0.1, arousal: 0.4, dominance: 0.5 }, "bull"),
        beat("g3", now - 3000, null, "bear"),
        beat("g4", now - 120_000, { pleasure: 1, arousal: 1, dominance: 1 }, "bull"),
      ],
      deaths: { total: 7, since: 2 },
      pheromones: [
        pheromone({ id: "1", domain: "defi", layer: "threat", intensity: 0.8, depositedAt: now }),
        pheromone({ id: "2", domain: "defi", layer: "wisdom", intensity: 0.5, depositedAt: now }),
        pheromone({ id: "3", domain: "nft", layer: "threat", intensity: 0.2, depositedAt: now - BASE_HALF_LIFE_MS.threat }),
      ],
    });
    assert.equal(pulse.activeGolems, 3);
    assert.equal(pulse.deadTotal, 7);
    assert.equal(pulse.deaths24h, 2);
    assert.equal(pulse.pheromones.threat.live, 2);
    assert.ok(Math.abs(pulse.pheromones.threat.intensity - 0.9) < 1e-9);
    assert.deepEqual(pulse.pheromones.opportunity, { live: 0, intensity: 0 });
    assert.deepEqual(pulse.topDomains, [
      { domain: "defi", pheromones: 2 },
      { domain: "nft", pheromones: 1 },
    ]);
    assert.ok(Math.abs((pulse.meanPad?.pleasure ?? 0) - 0.2) < 1e-12);
    assert.ok(Math.abs((pulse.meanPad?.arousal ?? 0) - 0.2) < 1e-12);
    assert.ok(Math.abs(pulse.meanPad?.dominance ?? 1) < 1e-12);
    assert.deepEqual(
      pulse.regimes,
      new Map([
        ["bull", 2],
        ["bear", 1],
      ]),
    );
  });
});
