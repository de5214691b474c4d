import type { StoredEntry } from "../../core/knowledge/entry-store.js";
import type { LetheCandidate, NewEntry } from "../../core/knowledge/types.js";
import { toBytes } from "../sql/codec.js";
import { earliestDue, toEntry } from "../sql/entry-rows.js";
import type { Finish, Pipeline } from "./pipelined.js";

/** An entry to store, with its lethe candidate if it makes one. */
export type EntryItem = { entry: NewEntry; lethe?: LetheCandidate | undefined };

/** Rows per multi-row INSERT: 23 columns × 1,000 stays well under PostgreSQL's 65,535 parameters. */
export const INSERT_CHUNK = 1000;

/**
 * Sends the statements storing `items` (in order; seqs follow it) on `p`, awaiting only what
 * the next statements depend on: the INSERT and, for the lethe candidates' domains, each
 * domain's lock, writers and count go out together; then the candidates' rows. In a
 * transaction (several chunks, or any lethe candidate: `needsTransaction`).
 */
export async function sendEntries(p: Pipeline, items: readonly EntryItem[]): Promise<Finish<StoredEntry[]>> {
  const finishes: Finish<StoredEntry[]>[] = [];
  for (let i = 0; i < items.length; i += INSERT_CHUNK) finishes.push(await sendChunk(p, items.slice(i, i + INSERT_CHUNK)));
  return async () => (await Promise.all(finishes.map((f) => f()))).flat();
}

/** Whether storing `items` takes more than one statement that writes (else it is one autocommit INSERT). */
export function needsTransaction(items: readonly EntryItem[]): boolean {
  return items.length > INSERT_CHUNK || items.some((i) => i.lethe !== undefined);
}

/**
 * One multi-row INSERT, then a lookup of those a repeated idempotency key skipped. ON CONFLICT
 * DO NOTHING waits for a concurrent transaction holding the same (user, key) and then skips, so
 * two gateways racing on one key store it once; the lookup, a later statement, sees the winner's
 * row. Lethe candidates of the entries created are admitted (k-anonymity) and queued.
 */
async function sendChunk(p: Pipeline, items: readonly EntryItem[]): Promise<Finish<StoredEntry[]>> {
  const q = p.q;
  const inserted = p.send(q<{ id: string; seq: number }[]>`
    INSERT INTO entries ${q(items.map((i) => entryRow(i.entry)))}
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, seq`);
  const writers = sendWriters(p, items);
  const seqOf = new Map((await inserted).map((r) => [r.id, r.seq]));
  const out: (StoredEntry | undefined)[] = items.map(({ entry }) => {
    const seq = seqOf.get(entry.id);
    if (seq === undefined) return undefined;
    // Claimed once: a second item with the same id and key is the repeat, not the original.
    seqOf.delete(entry.id);
    return { entry: { ...entry, seq }, created: true };
  });
  await findRepeats(p, items, out);
  const fresh = items.flatMap((i, n) => (i.lethe && out[n]?.created ? [{ n, c: i.lethe }] : []));
  if (fresh.length === 0) return async () => out as StoredEntry[];
  const admitted = await admit(p, fresh, writers);
  const waitingIds = fresh.filter(({ n }) => admitted.get(n)?.waiting).map(({ n }) => (out[n] as StoredEntry).entry.id);
  if (waitingIds.length > 0) p.send(q`UPDATE entries SET lethe_at = NULL, lethe_waiting = true WHERE id = ANY(${waitingIds}::text[])`);
  p.send(q`INSERT INTO lethe_queue ${q(fresh.map(({ n, c }) => candidateRow(c, admitted.get(n)?.waiting ?? false)))}`);
  return async () => {
    for (const { n } of fresh) {
      const a = admitted.get(n);
      const s = out[n] as StoredEntry;
      const releasedDue = a?.released === undefined ? undefined : earliestDue(await a.released);
      out[n] = a?.waiting
        ? { ...s, entry: { ...s.entry, letheAt: null, letheWaiting: true } }
        : { ...s, ...(releasedDue === undefined ? {} : { releasedDue }) };
    }
    return out as StoredEntry[];
  };
}

/** Fills `out` for the items a repeated idempotency key skipped: the first entry stored under the key. */
async function findRepeats(p: Pipeline, items: readonly EntryItem[], out: (StoredEntry | undefined)[]): Promise<void> {
  const skipped = items.flatMap((i, n) => (out[n] ? [] : [i.entry]));
  if (skipped.length === 0) return;
  const q = p.q;
  const firsts = await p.send(q`SELECT * FROM entries WHERE (user_id, idempotency_key) IN
    (SELECT * FROM unnest(${skipped.map((e) => e.userId)}::text[], ${skipped.map((e) => e.idempotencyKey)}::text[]))`);
  const byKey = new Map(firsts.map((r) => [`${r.user_id}\u0000${r.idempotency_key}`, toEntry(r)]));
  for (const [n, { entry: e }] of items.entries()) {
    if (out[n]) continue;
    const first = byKey.get(`${e.userId}\u0000${e.idempotencyKey}`);
    if (!first) throw new Error(`entry ${e.id} was neither stored nor found by its idempotency key`);
    out[n] = { entry: first, created: false };
  }
}

/**
 * k-anonymity, first half (SPEC §4.2 step 5), sent behind the INSERT: per domain of the
 * candidates, in name order, a transaction-scoped advisory lock serializes every writer of the
 * domain across gateways (two users who together reach k cannot both count k − 1 and leave
 * everything waiting); the sources of the entries this INSERT created join the domain's writers
 * (a repeated idempotency key's entry is not created, so its source is not added); then the
 * domain's writers are counted, up to the largest k asked. Answers: the count per domain.
 */
function sendWriters(p: Pipeline, items: readonly EntryItem[]): Map<string, Promise<number>> {
  const q = p.q;
  const byDomain = new Map<string, LetheCandidate[]>();
  for (const { lethe } of items) if (lethe) byDomain.set(lethe.domain, [...(byDomain.get(lethe.domain) ?? []), lethe]);
  const counts = new Map<string, Promise<number>>();
  for (const domain of [...byDomain.keys()].sort()) {
    const mine = byDomain.get(domain) as LetheCandidate[];
    const ids = items.flatMap((i) => (i.lethe?.domain === domain ? [i.entry.id] : []));
    p.send(q`SELECT pg_advisory_xact_lock(hashtextextended(${`styx.lethe:${domain}`}, 0))`);
    p.send(q`INSERT INTO lethe_writers (domain, source)
      SELECT ${domain}, s.source FROM unnest(${ids}::text[], ${mine.map((c) => c.source)}::text[]) AS s(id, source)
      WHERE EXISTS (SELECT 1 FROM entries e WHERE e.id = s.id)
      ON CONFLICT DO NOTHING`);
    const limit = Math.max(...mine.map((c) => c.k));
    const count = p.send(
      q<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM lethe_writers WHERE domain = ${domain} LIMIT ${limit}) w`,
    );
    const n = count.then(([row]) => row?.n ?? 0);
    n.catch(() => {}); // the failure is the pipeline's (settled), and the INSERT's answer is awaited first
    counts.set(domain, n);
  }
  return counts;
}

/**
 * k-anonymity, second half: below a candidate's k it waits; at k or more the domain's waiting
 * candidates fall due at this write's time plus their own delay (the release is sent, its
 * answer read at the end).
 */
async function admit(
  p: Pipeline,
  fresh: readonly { n: number; c: LetheCandidate }[],
  writersOf: Map<string, Promise<number>>,
): Promise<Map<number, { waiting: boolean; released?: Promise<readonly { due_at: number }[]> }>> {
  const q = p.q;
  const out = new Map<number, { waiting: boolean; released?: Promise<readonly { due_at: number }[]> }>();
  for (const domain of [...new Set(fresh.map(({ c }) => c.domain))].sort()) {
    const mine = fresh.filter(({ c }) => c.domain === domain);
    const writers = await (writersOf.get(domain) as Promise<number>);
    const met = mine.find(({ c }) => writers >= c.k);
    const released = met
      ? p.send(q<{ due_at: number }[]>`UPDATE lethe_queue SET waiting = false, due_at = ${met.c.dueAt - met.c.delayMs} + delay_ms
          WHERE domain = ${domain} AND waiting RETURNING due_at`)
      : undefined;
    for (const { n, c } of mine) {
      const waiting = writers < c.k;
      out.set(n, waiting || released === undefined ? { waiting } : { waiting, released });
    }
  }
  return out;
}

/**
 * A candidate queued without an entry (a federated lethe record, due whatever its domain's k):
 * its source joins the domain's writers under the domain's lock, the domain's waiting
 * candidates are released when that brings it to k, and the candidate is queued due.
 */
export async function sendQueued(p: Pipeline, c: LetheCandidate): Promise<Finish<void>> {
  const q = p.q;
  p.send(q`SELECT pg_advisory_xact_lock(hashtextextended(${`styx.lethe:${c.domain}`}, 0))`);
  p.send(q`INSERT INTO lethe_writers (domain, source) VALUES (${c.domain}, ${c.source}) ON CONFLICT DO NOTHING`);
  const [row] = await p.send(
    q<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM lethe_writers WHERE domain = ${c.domain} LIMIT ${c.k}) w`,
  );
  if ((row?.n ?? 0) >= c.k) {
    p.send(q`UPDATE lethe_queue SET waiting = false, due_at = ${c.dueAt - c.delayMs} + delay_ms WHERE domain = ${c.domain} AND waiting`);
  }
  p.send(q`INSERT INTO lethe_queue ${q(candidateRow(c, false))}`);
  return async () => {};
}

/** An entry as a row; its keys are the INSERT's columns, so every one is always present. */
export function entryRow(e: NewEntry) {
  return {
    id: e.id,
    user_id: e.userId,
    golem_id: e.golemId,
    category: e.category,
    content: e.content,
    content_hash: e.contentHash,
    content_blob: e.contentBlob,
    embedding: toBytes(e.embedding),
    domain: e.domain,
    regime: e.regime,
    confidence: e.confidence,
    affect: e.affect ? JSON.stringify(e.affect) : null,
    emotion: e.emotion,
    metadata: JSON.stringify(e.metadata),
    is_bloodstain: e.isBloodstain,
    in_clade: e.inClade,
    validations: e.validations,
    contradictions: e.contradictions,
    created_at: e.createdAt,
    expires_at: e.expiresAt,
    lethe_at: e.letheAt,
    lethe_waiting: e.letheWaiting,
    idempotency_key: e.idempotencyKey,
  };
}

/** A lethe candidate as a lethe_queue row. */
export function candidateRow(c: LetheCandidate, waiting: boolean) {
  const { embedding, ...rest } = c;
  return {
    id: c.id,
    due_at: c.dueAt,
    payload: JSON.stringify(rest),
    embedding: toBytes(embedding),
    domain: c.domain,
    delay_ms: c.delayMs,
    waiting,
  };
}
