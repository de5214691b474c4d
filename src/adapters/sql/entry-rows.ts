/** Rows of the knowledge tables (entries, lethe_queue, lethe_entries) as domain objects, for both adapters. */
import type { QueryEntry, VectorBatch } from "../../core/knowledge/entry-store.js";
import type { Affect, Category, Entry, LetheCandidate, LetheEntry } from "../../core/knowledge/types.js";
import { concatVectors, fromBytes, type SqlRow, sqlBool } from "./codec.js";

/**
 * A whole entry row: the query candidate's fields (`toQueryEntry`, same decoding) and the rest.
 * Written out in one literal on purpose: `{ ...toQueryEntry(r), userId, … }` cost 24 µs a row
 * (V8 leaves the spread copy's shape and adds ten properties one by one), 20× this, and a
 * 100,000-entry snapshot spent seconds there.
 */
export function toEntry(r: SqlRow): Entry {
  return {
    id: r.id as string,
    seq: r.seq as number,
    userId: r.user_id as string,
    golemId: r.golem_id as string,
    category: r.category as Category,
    content: r.content as string,
    contentHash: r.content_hash as string,
    contentBlob: (r.content_blob as string | null) ?? null,
    embedding: fromBytes(r.embedding as Buffer | null),
    domain: (r.domain as string | null) ?? null,
    regime: (r.regime as string | null) ?? null,
    confidence: r.confidence as number,
    affect: r.affect ? (JSON.parse(r.affect as string) as Affect) : null,
    emotion: (r.emotion as string | null) ?? null,
    metadata: JSON.parse(r.metadata as string) as Record<string, unknown>,
    isBloodstain: sqlBool(r.is_bloodstain),
    inClade: sqlBool(r.in_clade),
    validations: r.validations as number,
    contradictions: r.contradictions as number,
    createdAt: r.created_at as number,
    expiresAt: (r.expires_at as number | null) ?? null,
    letheAt: (r.lethe_at as number | null) ?? null,
    letheWaiting: sqlBool(r.lethe_waiting),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
  };
}

/** The columns of `toQueryEntry`, for a SELECT list (both dialects). */
export const QUERY_ENTRY_COLUMNS =
  "seq, id, golem_id, category, content, content_hash, embedding, domain, regime, confidence, is_bloodstain, validations, contradictions, created_at";

/** A row of QUERY_ENTRY_COLUMNS as a ranked query's candidate. */
export function toQueryEntry(r: SqlRow): QueryEntry {
  return {
    id: r.id as string,
    seq: r.seq as number,
    golemId: r.golem_id as string,
    category: r.category as Category,
    content: r.content as string,
    contentHash: r.content_hash as string,
    embedding: fromBytes(r.embedding as Buffer | null),
    domain: (r.domain as string | null) ?? null,
    regime: (r.regime as string | null) ?? null,
    confidence: r.confidence as number,
    isBloodstain: sqlBool(r.is_bloodstain),
    validations: r.validations as number,
    contradictions: r.contradictions as number,
    createdAt: r.created_at as number,
  };
}

/**
 * A queued candidate: its fields but the embedding (and, on SQLite since migration 20, the text)
 * are the JSON `payload`; `dueAt` is the column's (a release moves it). Rows queued before
 * k-anonymity carry no `k`/`delayMs`.
 */
export function toCandidate(r: SqlRow): LetheCandidate {
  const payload = JSON.parse(r.payload as string) as Omit<LetheCandidate, "embedding" | "k" | "delayMs"> & Partial<LetheCandidate>;
  return {
    ...payload,
    // SQLite since migration 20 keeps the text in a column of its own; in the payload before (and on PostgreSQL).
    content: typeof r.content === "string" ? r.content : payload.content,
    k: payload.k ?? 1,
    delayMs: payload.delayMs ?? 0,
    dueAt: r.due_at as number,
    embedding: fromBytes(r.embedding as Buffer | null),
  };
}

/** The smallest `due_at` of released queue rows, or undefined when none was released. */
export function earliestDue(rows: readonly { due_at: number }[]): number | undefined {
  let min: number | undefined;
  for (const r of rows) if (min === undefined || r.due_at < min) min = r.due_at;
  return min;
}

export function toLethe(r: SqlRow): LetheEntry {
  return {
    id: r.id as string,
    seq: r.seq as number,
    domain: r.domain as string,
    category: r.category as Category,
    content: r.content as string,
    contentHash: r.content_hash as string,
    embedding: fromBytes(r.embedding as Buffer | null),
    regime: (r.regime as string | null) ?? null,
    confidence: r.confidence as number,
    isBloodstain: sqlBool(r.is_bloodstain),
    metadata: JSON.parse(r.metadata as string) as Record<string, unknown>,
    sources: JSON.parse(r.sources as string) as string[],
    confirmationConfidences: JSON.parse(r.confirmation_confidences as string) as number[],
    bloodstainConfirmed: sqlBool(r.bloodstain_confirmed),
    validations: r.validations as number,
    contradictions: r.contradictions as number,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/** A page of (seq, embedding, …) rows as one batch per namespace; `namespaces` names a row's (an entry in the clade is in two). */
export function* vectorBatches(rows: readonly SqlRow[], namespaces: (r: SqlRow) => readonly string[]): Iterable<VectorBatch> {
  const groups = new Map<string, { seqs: number[]; vecs: Float32Array[] }>();
  for (const r of rows) {
    const vec = fromBytes(r.embedding as Buffer) as Float32Array;
    for (const ns of namespaces(r)) {
      const g = groups.get(ns) ?? { seqs: [], vecs: [] };
      g.seqs.push(r.seq as number);
      g.vecs.push(vec);
      groups.set(ns, g);
    }
  }
  for (const [namespace, g] of groups) yield { namespace, seqs: g.seqs, vectors: concatVectors(g.vecs) };
}
