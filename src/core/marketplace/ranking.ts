/**
 * Browse ranking of SPEC §16.2. Pure.
 *
 *   score = 0.40·semantic + 0.20·reputation + 0.15·rating + 0.15·recency + 0.10·popularity
 *   semantic = cosine(query, preview embedding), else normalised BM25
 *   reputation = clamp(rep/100, 0, 1)      rating = (bayes − 1)/4, bayes = (Σ + 9)/(n + 3)
 *   recency = exp(−age_h/168)              popularity = min(1, log10(1 + sales)/3)
 *   no query: semantic dropped, the rest ÷ 0.60; ties → newer, then id
 */

/** What ranking reads of a listing. */
export interface Rankable {
  readonly id: string;
  readonly createdAt: number;
  readonly sales: number;
  readonly ratingSum: number;
  readonly ratingCount: number;
  readonly embedding: readonly number[] | null;
  /** Title, description and preview: what BM25 matches. */
  readonly text: string;
  /** The seller's reputation. */
  readonly reputation: number;
}

/** A browse query: words, an embedding of the same meaning, both, or neither. */
export interface RankQuery {
  readonly text?: string | undefined;
  readonly embedding?: readonly number[] | undefined;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** The Bayesian rating in [0, 1]: a listing without ratings sits at 3 stars (0.5). */
export function ratingScore(sum: number, count: number): number {
  return ((sum + 9) / (count + 3) - 1) / 4;
}

/** exp(−age in hours / 168): one week's age is e⁻¹. */
export function recencyScore(createdAt: number, now: number): number {
  return Math.exp(-Math.max(0, now - createdAt) / 3_600_000 / 168);
}

/** min(1, log10(1 + sales)/3): 999 sales are full marks. */
export function popularityScore(sales: number): number {
  return Math.min(1, Math.log10(1 + sales) / 3);
}

/** clamp(rep/100, 0, 1). */
export function reputationScore(rep: number): number {
  return clamp01(rep / 100);
}

/** Cosine similarity, 0 for vectors of other lengths or no length (negative similarity counts as none). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : clamp01(dot / Math.sqrt(na * nb));
}

/** Lower-case word tokens (letters and digits of any script). */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** BM25 (k1 1.2, b 0.75) of `query` over `docs`, divided by the best score (1 for the best match, 0 without one). */
export function normalisedBm25(query: string, docs: readonly string[]): number[] {
  const q = [...new Set(tokens(query))];
  const bags = docs.map(tokens);
  const n = bags.length;
  if (q.length === 0 || n === 0) return docs.map(() => 0);
  const avg = bags.reduce((s, b) => s + b.length, 0) / n || 1;
  const df = new Map<string, number>();
  for (const bag of bags) for (const t of new Set(bag)) if (q.includes(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const raw = bags.map((bag) => {
    const tf = new Map<string, number>();
    for (const t of bag) if (df.has(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
    let s = 0;
    for (const [t, f] of tf) {
      const d = df.get(t) as number;
      const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
      s += (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * bag.length) / avg));
    }
    return s;
  });
  const best = Math.max(...raw);
  return raw.map((s) => (best > 0 ? s / best : 0));
}

/** Each listing's score for `query` at `now`, in the order given. */
export function scores(items: readonly Rankable[], query: RankQuery, now: number): number[] {
  const hasText = query.text !== undefined && tokens(query.text).length > 0;
  const hasQuery = hasText || (query.embedding !== undefined && query.embedding.length > 0);
  const bm25 = hasText
    ? normalisedBm25(
        query.text as string,
        items.map((i) => i.text),
      )
    : items.map(() => 0);
  return items.map((it, i) => {
    const rest =
      0.2 * reputationScore(it.reputation) +
      0.15 * ratingScore(it.ratingSum, it.ratingCount) +
      0.15 * recencyScore(it.createdAt, now) +
      0.1 * popularityScore(it.sales);
    if (!hasQuery) return rest / 0.6;
    const semantic = query.embedding && it.embedding ? cosine(query.embedding, it.embedding) : (bm25[i] as number);
    return 0.4 * semantic + rest;
  });
}

/** `items` with their scores, best first; ties → newer, then id. */
export function rank<T extends Rankable>(items: readonly T[], query: RankQuery, now: number): { item: T; score: number }[] {
  const s = scores(items, query, now);
  return items
    .map((item, i) => ({ item, score: s[i] as number }))
    .sort(
      (a, b) => b.score - a.score || b.item.createdAt - a.item.createdAt || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0),
    );
}
