import { nextTurn, runPaced } from "../platform/paced.js";
import type { EntryFilter, EntryStore, QueryEntry } from "./entry-store.js";
import { collapseSteps, dot, layerWeight, mortalScore, provenance, quality, type ScoreFactors, semantic, temporal } from "./scoring.js";
import type { Category, Layer, LetheEntry } from "./types.js";
import { LETHE_ALL_DOMAINS, namespaceOf } from "./types.js";
import type { VectorSearch } from "./vector-search.js";

/** Who is asking: the tenant (a hard filter) and, for a golem credential, the asking golem. */
export interface QueryRequester {
  readonly userId: string;
  /**
   * Set for a golem credential (SPEC §3): its vault is then its own entries only (a hard filter),
   * beside the whole clade and lethe. Null: an owner credential, whose vault is every golem's.
   */
  readonly golemId: string | null;
  /** The asking golem's ancestors by id → generations up (parent 1, grandparent 2, …). */
  readonly ancestors?: ReadonlyMap<string, number>;
}

/** Knowledge inherited from an ancestor decays by this factor per generation (SPEC §4.4). */
export const INHERITANCE_DECAY = 0.85;

/** Lethe entries whose confirmations disagree this much (variance of confidences) are flagged. */
export const CONTRADICTION_VARIANCE = 0.15;

/** Whether a lethe entry's confirmations contradict each other (population variance > 0.15). */
export function isFlagged(e: LetheEntry): boolean {
  const xs = e.confirmationConfidences;
  if (xs.length < 2) return false;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length > CONTRADICTION_VARIANCE;
}

/** A query as the API hands it over. */
export interface QueryInput {
  readonly text?: string | undefined;
  readonly embedding?: readonly number[] | undefined;
  readonly layers?: readonly Layer[] | undefined;
  readonly domains?: readonly string[] | undefined;
  readonly categories?: readonly Category[] | undefined;
  readonly limit: number;
  readonly explain: boolean;
}

/** One ranked hit. Lethe hits carry no owner or golem identifier. */
export interface RankedHit {
  readonly id: string;
  readonly layer: Layer;
  readonly namespace: string;
  readonly score: number;
  readonly content: string;
  readonly contentHash: string;
  readonly category: Category;
  readonly domain: string | null;
  readonly regime: string | null;
  readonly confidence: number;
  readonly isBloodstain: boolean;
  readonly createdAt: number;
  readonly embedding: Float32Array | null;
  readonly explain: ScoreFactors;
}

/** Lethe entries count as established once this many distinct sources (users) hold them (or one bloodstain confirms). */
export const LETHE_QUORUM = 3;

/**
 * Whether a lethe entry has reached quorum: `LETHE_QUORUM` distinct sources — users, since a
 * lethe source is the keyed hash of the writing user (federated: `origin:source`), so golems of
 * one user count once — or a bloodstain confirmation (SPEC §4.2 step 5, §4.4).
 */
export function isEstablished(e: LetheEntry): boolean {
  return e.bloodstainConfirmed || e.sources.length >= LETHE_QUORUM;
}

interface Candidate {
  layer: Layer;
  namespace: string;
  item: QueryEntry | LetheEntry;
  cosine: number;
  relevance: number;
}

/**
 * Searches every requested layer in parallel — ANN (with the exact overlay) when there is a
 * vector, FTS5 BM25 when there is text, both fused when both — then scores with the mortal
 * score, collapses near-duplicates and returns the best `limit`.
 */
export async function runQuery(
  deps: { store: EntryStore; vectors: VectorSearch; now: number; pause?: () => Promise<void> },
  who: QueryRequester,
  q: Omit<QueryInput, "embedding"> & { embedding: Float32Array | null },
): Promise<RankedHit[]> {
  const { store, vectors, now } = deps;
  const pause = deps.pause ?? nextTurn;
  // Candidates are read in chunks with a turn of the event loop between them: on a micronode a
  // read is synchronous, and ~800 rows with their embeddings are ~10 ms of the loop in one piece.
  const hydrate = async <T>(seqs: number[], read: (chunk: number[]) => Promise<T[]>): Promise<T[]> => {
    const out: T[] = [];
    for (let i = 0; i < seqs.length; i += HYDRATE_CHUNK) {
      if (i > 0) await pause();
      out.push(...(await read(seqs.slice(i, i + HYDRATE_CHUNK))));
    }
    return out;
  };
  const layers = q.layers?.length ? [...new Set(q.layers)] : (["vault", "clade", "lethe"] as const);
  const filtered = (q.domains?.length ?? 0) > 0 || (q.categories?.length ?? 0) > 0;
  const k = Math.max(q.limit * 4, 40) * (filtered ? 5 : 1);
  // A golem's vault is its share of the user's vector index, which its siblings' vectors crowd: oversampled as a filter is.
  const vaultK = who.golemId !== null && !filtered ? k * 5 : k;
  const mode = { vector: q.embedding !== null, lexical: !!q.text && q.text.trim().length > 0 };

  const privateLayer = async (layer: "vault" | "clade"): Promise<Candidate[]> => {
    const ns = namespaceOf(layer, who.userId);
    const golemId = layer === "vault" && who.golemId !== null ? who.golemId : undefined;
    const filter: EntryFilter = {
      userId: who.userId,
      cladeOnly: layer === "clade",
      golemId,
      domains: q.domains,
      categories: q.categories,
      now,
    };
    const [vec, lex] = await Promise.all([
      q.embedding ? vectors.search(ns, q.embedding, golemId === undefined ? k : vaultK) : [],
      mode.lexical ? store.searchText(q.text as string, filter, k) : [],
    ]);
    const relevance = new Map(lex.map((h) => [h.seq, h.relevance]));
    const entries = await hydrate([...new Set([...vec.map((h) => h.key), ...relevance.keys()])], (seqs) => store.getBySeqs(seqs, filter));
    return entries.map((item) => ({
      layer,
      namespace: ns,
      item,
      cosine: cosineOf(q.embedding, item),
      relevance: relevance.get(item.seq) ?? 0,
    }));
  };

  const letheLayer = async (): Promise<Candidate[]> => {
    const filter = { domains: q.domains, categories: q.categories };
    const [vec, lex] = await Promise.all([
      q.embedding ? Promise.all(letheSearchSpaces(q.domains).map((ns) => vectors.search(ns, q.embedding as Float32Array, k))) : [],
      mode.lexical ? store.searchLetheText(q.text as string, filter, k) : [],
    ]);
    const relevance = new Map(lex.map((h) => [h.seq, h.relevance]));
    const seqs = new Set([...vec.flat().map((h) => h.key), ...relevance.keys()]);
    const items = await hydrate([...seqs], (chunk) => store.getLetheBySeqs(chunk, filter));
    return items.map((item) => ({
      layer: "lethe" as const,
      namespace: namespaceOf("lethe", item.domain),
      item,
      cosine: cosineOf(q.embedding, item),
      relevance: relevance.get(item.seq) ?? 0,
    }));
  };

  // Every clade entry is also a vault entry of the same user, with the same factors and a lower
  // layer weight (0.8 < 1.0), so with the whole vault searched a clade hit always collapses into
  // its vault twin: searching the clade too would be wasted work. A golem credential's vault is
  // its own entries only, so its siblings' clade entries are found in the clade.
  const wholeVault = layers.includes("vault") && who.golemId === null;
  const searched = wholeVault ? layers.filter((l) => l !== "clade") : layers;
  const perLayer = await Promise.all(searched.map((l) => (l === "lethe" ? letheLayer() : privateLayer(l))));
  // Score ties then break the same way whatever order the store answered in: layer, then seq
  // (a tenant's seqs keep its write order, whatever other tenants wrote in between).
  const candidates = perLayer.flatMap((c) => c.sort((x, y) => x.item.seq - y.item.seq));
  // Scoring and collapsing hundreds of candidates is the longest stretch of a large query: paced,
  // so other users' requests are read between its slices (SPEC §12 fairness, bench/fairness.ts).
  return runPaced(rankSteps(candidates, who, now, mode, q.limit), pause, QUERY_SLICE_MS, 0);
}

/** Longest stretch of a query's scoring between two turns of the event loop, ms. */
export const QUERY_SLICE_MS = 2;

/** Candidates read from the store at once (bench/fairness.ts: ~2 ms of a micronode's loop). */
export const HYDRATE_CHUNK = 160;

function* rankSteps(
  candidates: readonly Candidate[],
  who: QueryRequester,
  now: number,
  mode: { vector: boolean; lexical: boolean },
  limit: number,
): Generator<void, RankedHit[]> {
  let maxRelevance = 0;
  for (const c of candidates) maxRelevance = Math.max(maxRelevance, c.relevance);
  const scored: RankedHit[] = [];
  for (const c of candidates) {
    scored.push(score(c, who, now, mode, maxRelevance > 0 ? c.relevance / maxRelevance : 0));
    yield;
  }
  return yield* collapseSteps(scored, limit);
}

/** A query naming at most this many domains searches their own vector indexes; one naming more, or none, the all-domains index. */
export const LETHE_DOMAIN_SEARCHES = 8;

/**
 * The vector indexes a lethe query searches: a bounded number whatever the count of domains in
 * lethe. Few named domains: their own indexes, so a small domain is not crowded out by others'
 * nearer vectors. Otherwise the all-domains index, whose candidates the domain filter then
 * trims (oversampled ×5 when the query filters, as the private layers are).
 */
export function letheSearchSpaces(domains: readonly string[] | undefined): readonly string[] {
  const named = [...new Set(domains ?? [])];
  if (named.length === 0 || named.length > LETHE_DOMAIN_SEARCHES) return [LETHE_ALL_DOMAINS];
  return named.map((d) => namespaceOf("lethe", d));
}

/** Inherited entries decay 0.85^generations; flagged lethe entries count half. */
function qualityFactor(c: Candidate, who: QueryRequester): number {
  if (c.layer === "lethe") return isFlagged(c.item as LetheEntry) ? 0.5 : 1;
  const up = who.ancestors?.get((c.item as QueryEntry).golemId);
  return up === undefined ? 1 : INHERITANCE_DECAY ** up;
}

function cosineOf(query: Float32Array | null, item: { embedding: Float32Array | null }): number {
  return query && item.embedding ? dot(query, item.embedding) : 0;
}

function score(c: Candidate, who: QueryRequester, now: number, mode: { vector: boolean; lexical: boolean }, bm25: number): RankedHit {
  const it = c.item;
  const isLethe = c.layer === "lethe";
  const factors: ScoreFactors = {
    semantic: semantic(mode, c.cosine, bm25),
    temporal: temporal(it.createdAt, now),
    quality: quality(it.confidence, it.validations, it.contradictions) * qualityFactor(c, who),
    provenance: provenance(c.layer, {
      ownGolem: !isLethe && (who.golemId === null || (it as QueryEntry).golemId === who.golemId),
      established: isLethe && isEstablished(it as LetheEntry),
    }),
    bloodstain: it.isBloodstain ? 1 : 0,
    layer_weight: layerWeight(c.layer, it.isBloodstain),
  };
  return {
    id: it.id,
    layer: c.layer,
    namespace: c.namespace,
    score: mortalScore(c.layer, factors),
    content: it.content,
    contentHash: it.contentHash,
    category: it.category,
    domain: isLethe ? (it as LetheEntry).domain : (it as QueryEntry).domain,
    regime: it.regime,
    confidence: it.confidence,
    isBloodstain: it.isBloodstain,
    createdAt: it.createdAt,
    embedding: it.embedding,
    explain: factors,
  };
}
