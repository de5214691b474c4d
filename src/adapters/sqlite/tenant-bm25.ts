/**
 * BM25 whose collection statistics come only from the documents being ranked: one tenant's
 * entries that match the query. FTS5's own `bm25()` reads its statistics (row count, average
 * length, documents per term) from the whole index, which holds every tenant, so another
 * tenant's private writes would move this tenant's scores and order (SPEC §4.2, tenant
 * noninterference). Pure: the same documents and query give the same scores whatever else
 * the database holds.
 */
import type { TextHit } from "../../core/knowledge/entry-store.js";

/** BM25 term-frequency saturation. */
const K1 = 1.2;
/** BM25 length normalisation. */
const B = 0.75;

/**
 * Matched documents, column-wise: `seqs[d]`, `lengths[d]` (in tokens) and `tf[d * terms + t]`,
 * how often query term `t` occurs in document `d`.
 */
export interface CountedDocs {
  readonly terms: number;
  readonly seqs: readonly number[];
  readonly lengths: Float64Array;
  readonly tf: Float64Array;
}

/**
 * The documents ranked for the query, best first; ties go to the lower seq (a tenant's seqs
 * keep its write order, whatever other tenants wrote in between). N, the average length and
 * each term's document frequency are those of these documents. Documents containing none of
 * the terms are left out, so every relevance is above 0.
 */
export function rankByBm25(docs: CountedDocs): TextHit[] {
  const { terms: m, seqs, lengths, tf } = docs;
  const n = seqs.length;
  if (n === 0 || m === 0) return [];
  let total = 0;
  for (let d = 0; d < n; d++) total += lengths[d] as number;
  const avgLength = total / n || 1;
  const idf = new Float64Array(m);
  for (let t = 0; t < m; t++) {
    let df = 0;
    for (let d = 0; d < n; d++) if ((tf[d * m + t] as number) > 0) df++;
    idf[t] = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }
  const scored: TextHit[] = [];
  for (let d = 0; d < n; d++) {
    const norm = K1 * (1 - B + (B * (lengths[d] as number)) / avgLength);
    let s = 0;
    for (let t = 0; t < m; t++) {
      const f = tf[d * m + t] as number;
      if (f > 0) s += ((idf[t] as number) * f * (K1 + 1)) / (f + norm);
    }
    if (s > 0) scored.push({ seq: seqs[d] as number, relevance: s });
  }
  return scored.sort((a, b) => b.relevance - a.relevance || a.seq - b.seq);
}

/**
 * The first SQLite varint of a blob given in hex (FTS5's docsize rows: one varint a column,
 * the column's length in tokens).
 */
export function firstVarint(hex: string): number {
  let v = 0;
  for (let i = 0; i < 9 && 2 * i + 2 <= hex.length; i++) {
    const b = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (i === 8) return v * 256 + b;
    v = v * 128 + (b & 0x7f);
    if (b < 0x80) return v;
  }
  return v;
}
