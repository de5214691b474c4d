import { runSync } from "../platform/paced.js";
import type { Layer } from "./types.js";

/** Factor weights of the mortal score per layer group (SPEC §4.3). */
export const WEIGHTS = {
  private: { semantic: 0.4, temporal: 0.25, quality: 0.15, provenance: 0.15, bloodstain: 0.05 },
  lethe: { semantic: 0.35, temporal: 0.2, quality: 0.25, provenance: 0.1, bloodstain: 0.1 },
} as const;

/** Layer weights; bloodstain entries weigh × 1.2 in lethe. */
export const LAYER_WEIGHT: Readonly<Record<Layer, number>> = { vault: 1.0, clade: 0.8, lethe: 0.5 };

/** Hours after which temporal relevance falls to 1/e. */
export const TEMPORAL_TAU_HOURS = 168;

/** The factors of one hit, each in 0..1 (layer_weight aside). */
export interface ScoreFactors {
  readonly semantic: number;
  readonly temporal: number;
  readonly quality: number;
  readonly provenance: number;
  readonly bloodstain: number;
  readonly layer_weight: number;
}

/** exp(−age_hours / 168), with age clamped at 0. */
export function temporal(createdAt: number, now: number): number {
  return Math.exp(-Math.max(0, now - createdAt) / 3_600_000 / TEMPORAL_TAU_HOURS);
}

/** Confidence adjusted by validations (+0.05 each) and contradictions (−0.1 each), within 0..1. */
export function quality(confidence: number, validations: number, contradictions: number): number {
  return Math.min(1, Math.max(0, confidence + 0.05 * validations - 0.1 * contradictions));
}

/** Provenance: own golem 1.0, clade sibling 0.9, lethe 0.7 (0.5 below quorum). */
export function provenance(layer: Layer, opts: { ownGolem: boolean; established: boolean }): number {
  if (layer === "lethe") return opts.established ? 0.7 : 0.5;
  return opts.ownGolem ? 1.0 : 0.9;
}

/** The layer weight of a hit. */
export function layerWeight(layer: Layer, isBloodstain: boolean): number {
  return LAYER_WEIGHT[layer] * (layer === "lethe" && isBloodstain ? 1.2 : 1);
}

/** The mortal score: layer_weight × Σ weight·factor. */
export function mortalScore(layer: Layer, f: ScoreFactors): number {
  const w = layer === "lethe" ? WEIGHTS.lethe : WEIGHTS.private;
  return (
    f.layer_weight *
    (w.semantic * f.semantic + w.temporal * f.temporal + w.quality * f.quality + w.provenance * f.provenance + w.bloodstain * f.bloodstain)
  );
}

/** Weight of the vector cosine in a fused semantic score (the rest is normalised BM25). */
export const FUSION_VECTOR_WEIGHT = 0.7;

/** Semantic factor from whichever retrieval signals the query had. */
export function semantic(mode: { vector: boolean; lexical: boolean }, cosine: number, bm25: number): number {
  const c = Math.max(0, Math.min(1, cosine));
  if (mode.vector && mode.lexical) return FUSION_VECTOR_WEIGHT * c + (1 - FUSION_VECTOR_WEIGHT) * bm25;
  return mode.vector ? c : bm25;
}

/**
 * Cosine of two L2-normalised vectors. Four running sums: the loop has no chain of dependent
 * additions, ~1.7× faster than one sum in V8 (collapsing duplicates takes up to limit × candidates
 * of these per query).
 */
export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const whole = n - (n % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i < whole; i += 4) {
    s0 += (a[i] as number) * (b[i] as number);
    s1 += (a[i + 1] as number) * (b[i + 1] as number);
    s2 += (a[i + 2] as number) * (b[i + 2] as number);
    s3 += (a[i + 3] as number) * (b[i + 3] as number);
  }
  for (; i < n; i++) s0 += (a[i] as number) * (b[i] as number);
  return s0 + s1 + (s2 + s3);
}

/** Something with a score that may be a near-duplicate of another. */
export interface Dedupable {
  readonly score: number;
  readonly contentHash: string;
  readonly embedding: Float32Array | null;
}

/** Near-duplicates: identical content, or cosine above this. */
export const DUPLICATE_COSINE = 0.9;

/** Best first, near-duplicates collapsed to the best of each group, at most `limit`. */
export function collapseDuplicates<T extends Dedupable>(hits: readonly T[], limit: number): T[] {
  return runSync(collapseSteps(hits, limit));
}

/**
 * `collapseDuplicates` as steps, one per hit looked at, for `runPaced`: a query of limit 100 over
 * ~800 candidates compares each against up to 100 kept vectors (several ms of the event loop).
 */
export function* collapseSteps<T extends Dedupable>(hits: readonly T[], limit: number): Generator<void, T[]> {
  const sorted = [...hits].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  const hashes = new Set<string>();
  const vectors: Float32Array[] = [];
  for (const h of sorted) {
    if (kept.length >= limit) break;
    yield;
    if (hashes.has(h.contentHash)) continue;
    const e = h.embedding;
    if (e !== null && vectors.some((v) => dot(v, e) > DUPLICATE_COSINE)) continue;
    kept.push(h);
    hashes.add(h.contentHash);
    if (e !== null) vectors.push(e);
  }
  return kept;
}
