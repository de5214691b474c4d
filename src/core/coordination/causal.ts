/** Causal federation (SPEC §7): strength buckets, edges, votes by distinct publishers. */

import type { OutboxEntry } from "../federation/federation-store.js";

/** Strength buckets, weakest first; a published strength is stored only as its bucket. */
export const STRENGTH_BUCKETS = ["weak", "moderate", "strong", "dominant"] as const;
export type StrengthBucket = (typeof STRENGTH_BUCKETS)[number];

/** Directions of a causal edge. */
export const DIRECTIONS = ["positive", "negative"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Least evidence and confidence a publication needs. */
export const MIN_EVIDENCE = 3;
export const MIN_CONFIDENCE = 0.6;

/** The bucket of a strength: weak < 0.3 ≤ moderate < 0.6 ≤ strong < 0.85 ≤ dominant. */
export function strengthBucket(strength: number): StrengthBucket {
  if (strength < 0.3) return "weak";
  if (strength < 0.6) return "moderate";
  if (strength < 0.85) return "strong";
  return "dominant";
}

/** A federated edge as stored: the first publisher's facts plus the votes of later ones. */
export interface CausalEdge {
  readonly id: string;
  readonly fromVariable: string;
  readonly toVariable: string;
  readonly domain: string;
  readonly regime: string;
  readonly direction: Direction;
  readonly strength: StrengthBucket;
  readonly lagTicks: number;
  readonly evidenceCount: number;
  readonly confidence: number;
  /** Later publishers that agreed on the direction. */
  readonly validations: number;
  /** Later publishers that disagreed. */
  readonly contradictions: number;
  /** The first publisher, as a source hash (never returned by the API). */
  readonly publisherHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A publication as the store takes it. */
export type CausalPublication = Omit<CausalEdge, "validations" | "contradictions" | "createdAt" | "updatedAt">;

/** What a publication did to the edge of its key. */
export type PublishOutcome = "created" | "validated" | "contradicted" | "unchanged";

/** Filters and limit of `discover`. */
export interface DiscoverFilter {
  readonly domain?: string | undefined;
  readonly regime?: string | undefined;
  /** Either end of the edge. */
  readonly variable?: string | undefined;
  readonly minValidations: number;
  readonly limit: number;
}

/**
 * Federated causal edges (micronode: SQLite; macronode: PostgreSQL).
 * Obligations: `publish` is atomic per edge key (from, to, domain, regime): the first
 * publisher creates the edge; each other publisher votes once — agreement validates,
 * disagreement contradicts; the same publisher again changes nothing. `discover` orders by
 * validations, then confidence (both descending), then id.
 * `outbox` (SPEC §17.2): the publication's federation record, written to the outbox (up) and
 * the relay outbox (down) in the publish's own transaction when it changed something (not when
 * `unchanged`).
 */
export interface CausalStore {
  publish(p: CausalPublication, now: number, outbox?: OutboxEntry): Promise<{ edge: CausalEdge; outcome: PublishOutcome }>;
  discover(filter: DiscoverFilter): Promise<CausalEdge[]>;
  /** Edges of one domain with id > `afterId`, by id, at most `limit` (the federation snapshot reads a domain in pages). */
  pageEdges(domain: string, afterId: string, limit: number): Promise<CausalEdge[]>;
}
