import type BetterSqlite3 from "better-sqlite3";
import type { BlobOrphan, EntryListFilter, EntryPosition, Validated } from "../../core/knowledge/entry-store.js";
import type { Entry, LetheEntry } from "../../core/knowledge/types.js";
import type { SqlRow as Row } from "../sql/codec.js";
import { toEntry, toLethe } from "../sql/entry-rows.js";
import type { SqliteDatabase } from "./database.js";

type Statement = BetterSqlite3.Statement<unknown[]>;

/**
 * The SQLite entry store's reads and removals of single entries (SPEC §4.1: get, list, delete,
 * validate) and the blob references of entries (SPEC §10), apart from its write and search
 * paths. `stmt` is the store's statement cache.
 */
export class SqliteEntryRecords {
  readonly #db: SqliteDatabase;
  readonly #stmt: (sql: string) => Statement;

  constructor(db: SqliteDatabase, stmt: (sql: string) => Statement) {
    this.#db = db;
    this.#stmt = stmt;
  }

  getEntry(id: string, now: number): Entry | undefined {
    const r = this.#stmt("SELECT * FROM entries WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)").get(id, now) as Row | undefined;
    return r ? toEntry(r) : undefined;
  }

  listEntries(f: EntryListFilter, after: EntryPosition | undefined, limit: number): Entry[] {
    const parts = ["user_id = ?", "(expires_at IS NULL OR expires_at > ?)"];
    const args: unknown[] = [f.userId, f.now];
    const add = (sql: string, ...values: unknown[]) => {
      parts.push(sql);
      args.push(...values);
    };
    if (f.golemId !== undefined) add("golem_id = ?", f.golemId);
    if (f.cladeOnly) parts.push("in_clade = 1");
    if (f.category !== undefined) add("category = ?", f.category);
    if (f.domain !== undefined) add("domain = ?", f.domain);
    if (f.createdAfter !== undefined) add("created_at > ?", f.createdAfter);
    if (f.createdBefore !== undefined) add("created_at < ?", f.createdBefore);
    if (after) add("(created_at, id) > (?, ?)", after.createdAt, after.id);
    for (const m of f.metadata) {
      // json_each: the key is compared as data, never spliced into a JSON path.
      add(
        `EXISTS (SELECT 1 FROM json_each(entries.metadata) j WHERE j.key = ? AND (
           (j.type = 'text' AND j.atom = ?) OR (j.type IN ('integer', 'real') AND j.atom = ?) OR j.type = ?))`,
        m.key,
        m.text,
        m.number,
        m.boolean === null ? null : String(m.boolean),
      );
    }
    const sql = `SELECT * FROM entries WHERE ${parts.join(" AND ")} ORDER BY created_at, id LIMIT ?`;
    return (this.#stmt(sql).all(...args, limit) as Row[]).map(toEntry);
  }

  deleteEntry(userId: string, id: string, letheCandidateId: string, at: number): { entry: Entry; letheDropped: boolean } | undefined {
    return this.#db.transaction(() => {
      const row = this.#stmt("DELETE FROM entries WHERE id = ? AND user_id = ? RETURNING *").get(id, userId) as Row | undefined;
      if (!row) return undefined;
      const entry = toEntry(row);
      this.#stmt("DELETE FROM entry_validations WHERE entry_seq = ?").run(entry.seq);
      const letheDropped = this.#stmt("DELETE FROM lethe_queue WHERE id = ?").run(letheCandidateId).changes > 0;
      if (entry.contentBlob !== null) this.markOrphanIfUnreferenced(userId, entry.contentBlob, at);
      return { entry, letheDropped };
    })();
  }

  /** Marks (userId, cid) orphaned at `at` unless a row of the user still names it; call inside the removal's transaction. */
  markOrphanIfUnreferenced(userId: string, cid: string, at: number): void {
    this.#stmt(
      `INSERT INTO blob_orphans (user_id, cid, since) SELECT @userId, @cid, @at
       WHERE NOT EXISTS (SELECT 1 FROM entries WHERE user_id = @userId AND content_blob = @cid)
       ON CONFLICT (user_id, cid) DO UPDATE SET since = excluded.since`,
    ).run({ userId, cid, at });
  }

  blobReferences(userId: string, cid: string, now: number): number {
    const r = this.#stmt(
      "SELECT count(*) AS n FROM entries WHERE user_id = ? AND content_blob = ? AND (expires_at IS NULL OR expires_at > ?)",
    ).get(userId, cid, now) as { n: number };
    return r.n;
  }

  blobOrphans(before: number, limit: number): BlobOrphan[] {
    const rows = this.#stmt("SELECT user_id, cid, since FROM blob_orphans WHERE since <= ? ORDER BY since, user_id, cid LIMIT ?").all(
      before,
      limit,
    ) as Row[];
    return rows.map((r) => ({ userId: r.user_id as string, cid: r.cid as string, since: r.since as number }));
  }

  dropBlobOrphan(userId: string, cid: string, since?: number): boolean {
    if (since === undefined) return this.#stmt("DELETE FROM blob_orphans WHERE user_id = ? AND cid = ?").run(userId, cid).changes > 0;
    return this.#stmt("DELETE FROM blob_orphans WHERE user_id = ? AND cid = ? AND since = ?").run(userId, cid, since).changes > 0;
  }

  validateEntry(seq: number, golemId: string, agrees: boolean, at: number): Validated<Entry> | undefined {
    return this.#vote("entries", "entry_validations", "entry_seq", "golem_id", seq, golemId, agrees, at, toEntry);
  }

  getLetheById(id: string): LetheEntry | undefined {
    const r = this.#stmt("SELECT * FROM lethe_entries WHERE id = ?").get(id) as Row | undefined;
    return r ? toLethe(r) : undefined;
  }

  validateLethe(seq: number, source: string, agrees: boolean, at: number): Validated<LetheEntry> | undefined {
    return this.#vote("lethe_entries", "lethe_validations", "lethe_seq", "source", seq, source, agrees, at, toLethe);
  }

  /** One vote per voter in `votes`; a first vote moves the row's counters, in one transaction. */
  #vote<E>(
    table: string,
    votes: string,
    seqColumn: string,
    voterColumn: string,
    seq: number,
    voter: string,
    agrees: boolean,
    at: number,
    decode: (r: Row) => E,
  ): Validated<E> | undefined {
    return this.#db.transaction(() => {
      if (!this.#stmt(`SELECT 1 FROM ${table} WHERE seq = ?`).get(seq)) return undefined;
      const counted =
        this.#stmt(
          `INSERT INTO ${votes} (${seqColumn}, ${voterColumn}, agrees, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        ).run(seq, voter, agrees ? 1 : 0, at).changes > 0;
      const column = agrees ? "validations" : "contradictions";
      if (counted) this.#stmt(`UPDATE ${table} SET ${column} = ${column} + 1 WHERE seq = ?`).run(seq);
      return { entry: decode(this.#stmt(`SELECT * FROM ${table} WHERE seq = ?`).get(seq) as Row), counted };
    })();
  }
}
