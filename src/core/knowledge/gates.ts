import type { Category, Layer } from "./types.js";

/** Confidence an entry needs to be indexed to the clade, by category (SPEC §4.1). */
export const CLADE_GATES: Readonly<Record<Category, number>> = {
  warning: 0.4,
  insight: 0.6,
  heuristic: 0.7,
  causal_link: 0.6,
  strategy_fragment: 0.6,
  regime_observation: 0.6,
  death_reflection: 0.6,
};

/** Confidence an entry needs to be queued for lethe. */
export const LETHE_GATE = 0.6;

const RANK: Record<Layer, number> = { vault: 0, clade: 1, lethe: 2 };

/** Whether an entry written with `widest` as its widest allowed layer reaches the clade. */
export function reachesClade(widest: Layer, category: Category, confidence: number): boolean {
  return RANK[widest] >= RANK.clade && confidence >= CLADE_GATES[category];
}

/** Whether an anonymized copy is queued for lethe (needs a domain). */
export function reachesLethe(widest: Layer, domain: string | null, confidence: number): boolean {
  return widest === "lethe" && domain !== null && confidence >= LETHE_GATE;
}
