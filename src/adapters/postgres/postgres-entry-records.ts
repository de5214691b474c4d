import type postgres from "postgres";
import type { BlobOrphan, EntryListFilter, EntryPosition, Validated } from "../../core/knowledge/entry-store.js";
import type { Entry, LetheEntry } from "../../core/knowledge/types.js";
import type { SqlRow as Row } from "../sql/codec.js";
import { toEntry, toLethe } from "../sql/entry-rows.js";
import type { PgSql } from "./database.js";

/**
 * The PostgreSQL entry store's reads and removals of single entries (SPEC §4.1: get, list,
 * delete, validate) and the blob references of entries (SPEC §10), apart from its write and
 * search paths.
 */
export class PostgresEntryRecords {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async getEntry(id: string, now: number): Promise<Entry | undefined> {
    const [r] = await this.#sql`SELECT * FROM entries WHERE id = ${id} AND (expires_at IS NULL OR expires_at > ${now})`;
    return r ? toEntry(r) : undefined;
  }

  async listEntries(f: EntryListFilter, after: EntryPosition | undefined, limit: number): Promise<Entry[]> {
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    const conds = [`user_id = ${p(f.userId)}`, `(expires_at IS NULL OR expires_at > ${p(f.now)})`];
    if (f.golemId !== undefined) conds.push(`golem_id = ${p(f.golemId)}`);
    if (f.cladeOnly) conds.push("in_clade");
    if (f.category !== undefined) conds.push(`category = ${p(f.category)}`);
    if (f.domain !== undefined) conds.push(`domain = ${p(f.domain)}`);
    if (f.createdAfter !== undefined) conds.push(`created_at > ${p(f.createdAfter)}`);
    if (f.createdBefore !== undefined) conds.push(`created_at < ${p(f.createdBefore)}`);
    if (after) conds.push(`(created_at, id) > (${p(after.createdAt)}::bigint, ${p(after.id)}::text)`);
    for (const m of f.metadata) {
      // The column is JSON text written by JSON.stringify: `json` (not jsonb) keeps each value's
      // text as written, so a string compares with JSON.stringify's form, never unescaped. Only
      // \u0000 makes PostgreSQL's JSON parser fail: it becomes \u2400 first (the result is
      // valid JSON; filter values hold no control characters, so only a value holding the text
      // `\u0000` itself, backslash and all, stops matching). The key is a parameter, never a path.
      const v = `(replace(metadata, '\\u0000', '\\u2400')::json -> ${p(m.key)})`;
      const alts = [`${v}::text = ${p(JSON.stringify(m.text))}`];
      if (m.number !== null) alts.push(`CASE WHEN json_typeof(${v}) = 'number' THEN (${v}::text)::numeric = ${p(m.number)}::numeric END`);
      if (m.boolean !== null) alts.push(`${v}::text = ${p(String(m.boolean))}`);
      conds.push(`(${alts.join(" OR ")})`);
    }
    const text = `SELECT * FROM entries WHERE ${conds.join(" AND ")} ORDER BY created_at, id LIMIT ${p(limit)}`;
    const rows = await this.#sql.unsafe<Row[]>(text, params as postgres.ParameterOrJSON<never>[]);
    return rows.map(toEntry);
  }

  async deleteEntry(
    userId: string,
    id: string,
    letheCandidateId: string,
    at: number,
  ): Promise<{ entry: Entry; letheDropped: boolean } | undefined> {
    return this.#sql.begin(async (tx) => {
      const [row] = await tx`DELETE FROM entries WHERE id = ${id} AND user_id = ${userId} RETURNING *`;
      if (!row) return undefined;
      const entry = toEntry(row);
      await tx`DELETE FROM entry_validations WHERE entry_seq = ${entry.seq}`;
      const letheDropped = (await tx`DELETE FROM lethe_queue WHERE id = ${letheCandidateId}`).count > 0;
      if (entry.contentBlob !== null) {
        await tx`INSERT INTO blob_orphans (user_id, cid, since) SELECT ${userId}, ${entry.contentBlob}, ${at}
          WHERE NOT EXISTS (SELECT 1 FROM entries WHERE user_id = ${userId} AND content_blob = ${entry.contentBlob})
          ON CONFLICT (user_id, cid) DO UPDATE SET since = excluded.since`;
      }
      return { entry, letheDropped };
    });
  }

  async blobReferences(userId: string, cid: string, now: number): Promise<number> {
    const [r] = await this.#sql<{ n: number }[]>`SELECT count(*)::int AS n FROM entries
      WHERE user_id = ${userId} AND content_blob = ${cid} AND (expires_at IS NULL OR expires_at > ${now})`;
    return r?.n ?? 0;
  }

  async blobOrphans(before: number, limit: number): Promise<BlobOrphan[]> {
    const rows = await this.#sql`SELECT user_id, cid, since FROM blob_orphans WHERE since <= ${before}
      ORDER BY since, user_id, cid LIMIT ${limit}`;
    return rows.map((r) => ({ userId: r.user_id as string, cid: r.cid as string, since: Number(r.since) }));
  }

  async dropBlobOrphan(userId: string, cid: string, since?: number): Promise<boolean> {
    const r =
      since === undefined
        ? await this.#sql`DELETE FROM blob_orphans WHERE user_id = ${userId} AND cid = ${cid}`
        : await this.#sql`DELETE FROM blob_orphans WHERE user_id = ${userId} AND cid = ${cid} AND since = ${since}`;
    return r.count > 0;
  }

  async validateEntry(seq: number, golemId: string, agrees: boolean, at: number): Promise<Validated<Entry> | undefined> {
    return this.#vote(
      { table: "entries", votes: "entry_validations", seqColumn: "entry_seq", voterColumn: "golem_id" },
      seq,
      golemId,
      agrees,
      at,
      toEntry,
    );
  }

  async getLetheById(id: string): Promise<LetheEntry | undefined> {
    const [r] = await this.#sql`SELECT * FROM lethe_entries WHERE id = ${id}`;
    return r ? toLethe(r) : undefined;
  }

  async validateLethe(seq: number, source: string, agrees: boolean, at: number): Promise<Validated<LetheEntry> | undefined> {
    return this.#vote(
      { table: "lethe_entries", votes: "lethe_validations", seqColumn: "lethe_seq", voterColumn: "source" },
      seq,
      source,
      agrees,
      at,
      toLethe,
    );
  }

  /** One vote per voter; a first vote moves the row's counters, in one transaction (the row locked first, so a delete waits or wins). */
  async #vote<E>(
    t: { table: string; votes: string; seqColumn: string; voterColumn: string },
    seq: number,
    voter: string,
    agrees: boolean,
    at: number,
    decode: (r: Row) => E,
  ): Promise<Validated<E> | undefined> {
    return this.#sql.begin(async (tx) => {
      const [found] = await tx`SELECT seq FROM ${tx(t.table)} WHERE seq = ${seq} FOR UPDATE`;
      if (!found) return undefined;
      const counted =
        (
          await tx`INSERT INTO ${tx(t.votes)} (${tx(t.seqColumn)}, ${tx(t.voterColumn)}, agrees, created_at)
            VALUES (${seq}, ${voter}, ${agrees}, ${at}) ON CONFLICT DO NOTHING`
        ).count > 0;
      const column = tx(agrees ? "validations" : "contradictions");
      const [row] = counted
        ? await tx`UPDATE ${tx(t.table)} SET ${column} = ${column} + 1 WHERE seq = ${seq} RETURNING *`
        : await tx`SELECT * FROM ${tx(t.table)} WHERE seq = ${seq}`;
      return { entry: decode(row as Row), counted };
    });
  }
}
