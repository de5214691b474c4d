/** Pheromone field rules (SPEC §5): layers and half-lives, decay, reinforcement, hypervectors. Pure. */

/** Pheromone layers with their base half-lives. */
export const PHEROMONE_LAYERS = ["threat", "opportunity", "wisdom"] as const;
export type PheromoneLayer = (typeof PHEROMONE_LAYERS)[number];

/** Base half-life of each layer, ms: threat 2 h, opportunity 12 h, wisdom 7 d. */
export const BASE_HALF_LIFE_MS: Readonly<Record<PheromoneLayer, number>> = {
  threat: 2 * 3_600_000,
  opportunity: 12 * 3_600_000,
  wisdom: 7 * 86_400_000,
};

/** Current intensity under which a pheromone is gone (sense ignores it; evaporation deletes it). */
export const EVAPORATION_THRESHOLD = 0.05;

/** Hypervector size: 10,240 bits in 1,280 bytes. */
export const HV_BYTES = 1280;
export const HV_BITS = HV_BYTES * 8;
/** Hamming similarity above which a hypervector deposit reinforces a pheromone of its cell. */
export const HV_REINFORCE_SIMILARITY = 0.6;
/** Most member vectors kept per pheromone for the majority bundle (odd, so fewer ties). */
export const HV_MAX_MEMBERS = 31;

/** A stored pheromone (times epoch ms; `intensity` as of `depositedAt`). */
export interface Pheromone {
  readonly id: string;
  readonly layer: PheromoneLayer;
  readonly class: string;
  readonly domain: string;
  readonly regime: string;
  /** Intensity at `depositedAt`, 0..1. */
  readonly intensity: number;
  readonly confirmations: number;
  readonly depositedAt: number;
  readonly createdAt: number;
  /** The first depositor's anonymous source hash. */
  readonly sourceHash: string;
  readonly metadata: Record<string, unknown>;
  /** The bundled hypervector, when the pheromone was deposited with one. */
  readonly hv: Uint8Array | null;
}

/** Effective half-life: base × (1 + 0.5 × confirmations). */
export function effectiveHalfLifeMs(layer: PheromoneLayer, confirmations: number): number {
  return BASE_HALF_LIFE_MS[layer] * (1 + 0.5 * confirmations);
}

/** Intensity at `now`: intensity × exp(−ln2 × age / effective half-life). */
export function currentIntensity(p: Pick<Pheromone, "layer" | "intensity" | "confirmations" | "depositedAt">, now: number): number {
  const age = Math.max(0, now - p.depositedAt);
  return p.intensity * Math.exp((-Math.LN2 * age) / effectiveHalfLifeMs(p.layer, p.confirmations));
}

/**
 * The time at which a pheromone falls under the evaporation threshold (what the store indexes
 * so that evaporation and sense never scan the dead).
 */
export function fadesAt(p: Pick<Pheromone, "layer" | "intensity" | "confirmations" | "depositedAt">): number {
  if (p.intensity <= EVAPORATION_THRESHOLD) return p.depositedAt;
  const halfLives = Math.log2(p.intensity / EVAPORATION_THRESHOLD);
  return p.depositedAt + Math.ceil(halfLives * effectiveHalfLifeMs(p.layer, p.confirmations));
}

/** What a deposit does to the pheromone it matched (same cell and class, or a similar hypervector). */
export interface Reinforcement {
  /** New intensity as of `now`: max(current, deposited). */
  readonly intensity: number;
  readonly confirmations: number;
  /** True when the depositor is new to this pheromone (a confirmation). */
  readonly confirmed: boolean;
}

/**
 * A deposit on an existing pheromone: a new source confirms it (+1), the same source only
 * refreshes it; in both cases the intensity becomes max(current, new) as of `now`.
 */
export function reinforce(p: Pheromone, deposited: number, newSource: boolean, now: number): Reinforcement {
  const confirmations = p.confirmations + (newSource ? 1 : 0);
  return { intensity: Math.max(currentIntensity(p, now), deposited), confirmations, confirmed: newSource };
}

/** Hamming similarity of two hypervectors: 1 − differing bits / bits. */
export function hammingSimilarity(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError("hypervectors differ in length");
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += POPCOUNT[(a[i] as number) ^ (b[i] as number)] as number;
  return 1 - diff / (a.length * 8);
}

/**
 * The pheromone a hypervector deposit reinforces among the live ones of its cell and layer:
 * the most similar, if strictly above HV_REINFORCE_SIMILARITY (the first met on a tie).
 * Candidates without a hypervector never match.
 */
export function mostSimilar<P extends Pick<Pheromone, "hv">>(candidates: Iterable<P>, hv: Uint8Array): P | undefined {
  let best: P | undefined;
  let bestSim = HV_REINFORCE_SIMILARITY;
  for (const p of candidates) {
    if (!p.hv) continue;
    const sim = hammingSimilarity(p.hv, hv);
    if (sim > bestSim) {
      best = p;
      bestSim = sim;
    }
  }
  return best;
}

/**
 * The majority-vote bundle of `members` (oldest first): each bit is set when more than half the
 * members set it; a tie keeps the oldest member's bit.
 */
export function bundle(members: readonly Uint8Array[]): Uint8Array {
  const first = members[0];
  if (!first) throw new RangeError("nothing to bundle");
  const out = new Uint8Array(first.length);
  const n = members.length;
  for (let byte = 0; byte < first.length; byte++) {
    let v = 0;
    for (let bit = 0; bit < 8; bit++) {
      const mask = 1 << bit;
      let ones = 0;
      for (const m of members) if ((m[byte] as number) & mask) ones++;
      const set = 2 * ones > n || (2 * ones === n && ((first[byte] as number) & mask) !== 0);
      if (set) v |= mask;
    }
    out[byte] = v;
  }
  return out;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

/** The per-domain answer of `sense`: max current intensity per layer (0 when none). */
export interface DomainLevels {
  readonly threat: number;
  readonly opportunity: number;
  readonly wisdom: number;
}

/** Levels of a domain from its live pheromones' current intensities. */
export function levelsOf(live: readonly { readonly pheromone: Pick<Pheromone, "layer">; readonly current: number }[]): DomainLevels {
  const l = { threat: 0, opportunity: 0, wisdom: 0 };
  for (const { pheromone, current } of live) if (current > l[pheromone.layer]) l[pheromone.layer] = current;
  return l;
}
