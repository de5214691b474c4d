import type { Pad } from "../fabric/presence.js";
import { type GolemPresence, isOnline } from "../fabric/presence.js";
import type { Golem } from "../identity/types.js";
import { currentIntensity, PHEROMONE_LAYERS, type Pheromone, type PheromoneLayer } from "./pheromone.js";

/** A golem in its lineage tree. */
export interface LineageNode {
  readonly golem: Golem;
  readonly children: readonly LineageNode[];
}

/**
 * A user's golems as a forest: each golem under its parent, roots being golems without a
 * parent among them; siblings oldest first (the order of `golems`).
 */
export function lineageForest(golems: readonly Golem[]): LineageNode[] {
  const ids = new Set(golems.map((g) => g.id));
  const children = new Map<string, Golem[]>();
  for (const g of golems) {
    if (g.parentGolemId && ids.has(g.parentGolemId)) {
      const list = children.get(g.parentGolemId) ?? [];
      list.push(g);
      children.set(g.parentGolemId, list);
    }
  }
  const build = (g: Golem, seen: Set<string>): LineageNode => {
    // Parents are registered before their children, so a cycle cannot occur; the set is a guard.
    seen.add(g.id);
    return { golem: g, children: (children.get(g.id) ?? []).filter((c) => !seen.has(c.id)).map((c) => build(c, seen)) };
  };
  const seen = new Set<string>();
  return golems.filter((g) => !g.parentGolemId || !ids.has(g.parentGolemId)).map((g) => build(g, seen));
}

/** The ecosystem pulse (SPEC §8), recomputed every 60 s. */
export interface Pulse {
  readonly computedAt: number;
  /** Golems heard from in the last minute. */
  readonly activeGolems: number;
  readonly deadTotal: number;
  readonly deaths24h: number;
  /** Per layer: live pheromones and the sum of their current intensities. */
  readonly pheromones: Readonly<Record<PheromoneLayer, { readonly live: number; readonly intensity: number }>>;
  /** Domains with the most live pheromones (ties by name), at most 5. */
  readonly topDomains: readonly { readonly domain: string; readonly pheromones: number }[];
  /** Mean pleasure–arousal–dominance of the active golems that report one. */
  readonly meanPad: Pad | null;
  /** Active golems per reported (publishable) regime: golems' own strings, so a Map. */
  readonly regimes: ReadonlyMap<string, number>;
}

/** Computes the pulse from the presence map, death counts and the live field. Pure. */
export function computePulse(input: {
  readonly now: number;
  readonly presence: readonly GolemPresence[];
  readonly deaths: { readonly total: number; readonly since: number };
  readonly pheromones: readonly Pheromone[];
}): Pulse {
  const { now } = input;
  const active = input.presence.filter((p) => isOnline(p, now));
  const pheromones = Object.fromEntries(PHEROMONE_LAYERS.map((l) => [l, { live: 0, intensity: 0 }])) as Record<
    PheromoneLayer,
    { live: number; intensity: number }
  >;
  const domains = new Map<string, number>();
  for (const p of input.pheromones) {
    const slot = pheromones[p.layer];
    slot.live++;
    slot.intensity += currentIntensity(p, now);
    domains.set(p.domain, (domains.get(p.domain) ?? 0) + 1);
  }
  const pads = active.flatMap((p) => (p.pad ? [p.pad] : []));
  const mean = (k: keyof Pad) => pads.reduce((a, p) => a + p[k], 0) / pads.length;
  // Client strings are counted in a Map, never as keys of a plain object (a regime `constructor` would read the prototype).
  const regimes = new Map<string, number>();
  for (const p of active) if (p.regime !== null) regimes.set(p.regime, (regimes.get(p.regime) ?? 0) + 1);
  return {
    computedAt: now,
    activeGolems: active.length,
    deadTotal: input.deaths.total,
    deaths24h: input.deaths.since,
    pheromones,
    topDomains: [...domains]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([domain, n]) => ({ domain, pheromones: n })),
    meanPad: pads.length ? { pleasure: mean("pleasure"), arousal: mean("arousal"), dominance: mean("dominance") } : null,
    regimes,
  };
}
