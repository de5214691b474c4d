/** Domain types of knowledge: layers, categories, entries in vault/clade, anonymized lethe entries. Times are epoch ms. */

/** Privacy layers, narrowest first: vault (L0, the user's), clade (L1, the user's golems), lethe (L2, public). */
export const LAYERS = ["vault", "clade", "lethe"] as const;
export type Layer = (typeof LAYERS)[number];

/** What kind of knowledge an entry is. */
export const CATEGORIES = [
  "insight",
  "heuristic",
  "warning",
  "causal_link",
  "strategy_fragment",
  "regime_observation",
  "death_reflection",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Pleasure, arousal, dominance, each in −1..1. */
export interface Affect {
  readonly pleasure: number;
  readonly arousal: number;
  readonly dominance: number;
}

/** An entry as stored in the user's vault (and, when promoted, indexed to the clade). */
export interface Entry {
  readonly id: string;
  /** Store-assigned monotonic number; the key of the entry in vector indexes. */
  readonly seq: number;
  readonly userId: string;
  readonly golemId: string;
  readonly category: Category;
  readonly content: string;
  /** BLAKE3 of the content, hex. */
  readonly contentHash: string;
  /** A blob of the owner holding the full content (`content` is then its summary), or null. */
  readonly contentBlob: string | null;
  /** L2-normalised, or null for text-only entries. */
  readonly embedding: Float32Array | null;
  readonly domain: string | null;
  readonly regime: string | null;
  readonly confidence: number;
  readonly affect: Affect | null;
  readonly emotion: string | null;
  readonly metadata: Record<string, unknown>;
  readonly isBloodstain: boolean;
  /** Promoted to `clade:{user}`. */
  readonly inClade: boolean;
  readonly validations: number;
  readonly contradictions: number;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  /** When an anonymized copy is due in lethe (null when none was queued, or when it was queued waiting). */
  readonly letheAt: number | null;
  /**
   * At write time the domain had fewer than `STYX_LETHE_K` distinct lethe writers: the copy was
   * queued waiting, with no publication time (SPEC §4.2 step 5). Stays true once k is met later.
   */
  readonly letheWaiting: boolean;
  readonly idempotencyKey: string | null;
}

/** An entry before the store gives it a seq. */
export type NewEntry = Omit<Entry, "seq">;

/** An anonymized public entry in `lethe:{domain}`. Holds no user, golem, wallet or key identifier. */
export interface LetheEntry {
  readonly id: string;
  readonly seq: number;
  readonly domain: string;
  readonly category: Category;
  readonly content: string;
  readonly contentHash: string;
  readonly embedding: Float32Array | null;
  readonly regime: string | null;
  /** The source entry's confidence × 0.5 at first publication. */
  readonly confidence: number;
  readonly isBloodstain: boolean;
  /** Allow-listed, scrubbed structured fields only. */
  readonly metadata: Record<string, unknown>;
  /** Keyed source hashes (SPEC §3) of the golems that published or confirmed it. */
  readonly sources: readonly string[];
  /** Source confidences of every confirmation (the first publication included), for the variance rule. */
  readonly confirmationConfidences: readonly number[];
  readonly bloodstainConfirmed: boolean;
  readonly validations: number;
  readonly contradictions: number;
  /** Creation time rounded down to the hour. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An anonymized copy waiting for its publication time. */
export interface LetheCandidate {
  readonly id: string;
  readonly dueAt: number;
  readonly domain: string;
  readonly category: Category;
  readonly content: string;
  readonly embedding: Float32Array | null;
  readonly regime: string | null;
  readonly confidence: number;
  readonly isBloodstain: boolean;
  readonly metadata: Record<string, unknown>;
  /** The writer's keyed hash (a user; federated records: `origin:source`), counted for k-anonymity and quorum. */
  readonly source: string;
  readonly createdAt: number;
  /** Distinct sources its domain needs before it publishes (`STYX_LETHE_K`; 1 = no wait). */
  readonly k: number;
  /** Its random publication delay: due this long after the write, or after k is met if it waited. */
  readonly delayMs: number;
}

/** The namespace name of a layer for a user or domain. */
export function namespaceOf(layer: Layer, owner: string): string {
  return `${layer}:${owner}`;
}

/**
 * The namespaces an entry of the vault is in: its owner's vault, and the clade too when it was
 * promoted there. Vector indexes, write answers and exports all name them from here.
 */
export function entryNamespaces(e: Pick<Entry, "userId" | "inClade">): string[] {
  const vault = namespaceOf("vault", e.userId);
  return e.inClade ? [vault, namespaceOf("clade", e.userId)] : [vault];
}

/**
 * The vector index of every lethe entry, whatever its domain, so a query that names no domain
 * costs one search however many domains exist. No domain's namespace can be named this: theirs
 * carry a colon (`lethe:{domain}`).
 */
export const LETHE_ALL_DOMAINS = "lethe";

/**
 * The vector-index namespaces a lethe entry of `domain` is kept in: its domain's (searched by
 * queries that name few domains, and by the near-duplicate rule) and the all-domains one.
 */
export function letheIndexNamespaces(domain: string): readonly string[] {
  return [namespaceOf("lethe", domain), LETHE_ALL_DOMAINS];
}
