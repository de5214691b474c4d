import type BetterSqlite3 from "better-sqlite3";
import { nextTurn } from "../../core/platform/paced.js";
import type { SqliteDatabase } from "./database.js";

type Statement = BetterSqlite3.Statement<unknown[]>;

/**
 * Full-text rows indexed in one transaction, between turns of the event loop. FTS5 flushes a
 * segment per transaction, so smaller chunks cost more in all (measured per row: 45 µs of CPU
 * in chunks of 64, 69 µs in chunks of 16, against 28 µs for the entry row itself).
 */
export const FTS_CHUNK = 64;
/** Content bytes indexed in one transaction past its first row: 64 entries of 64 KiB would tokenize 4 MiB at once. */
export const FTS_CHUNK_BYTES = 64 * 1024;

/** The seqs of the oldest pending rows that fit `maxBytes` of content together (the first always does). */
export function ftsChunk(rows: readonly { seq: number; bytes: number }[], maxBytes: number): number[] {
  const seqs: number[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (seqs.length > 0 && bytes + r.bytes > maxBytes) break;
    seqs.push(r.seq);
    bytes += r.bytes;
  }
  return seqs;
}

/**
 * Pages (~4 KiB each) one step of FTS5's incremental merge writes: ~0.3–1.5 ms here. With FTS5's
 * automerge (SQLite migration 21 turns it off) an insert that tipped a level over merged that
 * level's segments inside the insert: 5–12 ms stretches every few 64 KiB documents.
 */
export const FTS_MERGE_PAGES = 32;

/** The two full-text indexes whose rows are indexed after their write. */
export type FtsIndex = "entries" | "lethe";
const INDEXES: readonly FtsIndex[] = ["entries", "lethe"];

/**
 * The full-text rows of entries (migration 15) and of lethe entries (migration 20), indexed
 * after the transaction that wrote them: the insert triggers only note the row as pending
 * (`entries_fts_pending`, `lethe_fts_pending`, durable with the row), and this indexes pending
 * rows a chunk at a time (FTS_CHUNK rows, or FTS_CHUNK_BYTES of content past the first), one
 * chunk per turn of the loop, two turns after the write — so neither a batch write nor a lethe
 * publication holds the loop for FTS5's tokenizing and segment flush. Each index's segments are
 * then merged FTS_MERGE_PAGES at a time, a step per turn, until a step finds nothing to merge
 * (FTS5's own merge rule: 4 segments of a level; its crisis merge at 16 still guards a backlog).
 * A search indexes the rows it could see first (`catchUp`): a tenant's own entries, or every
 * lethe row (the layer is public), so it always sees every committed row. Rows left pending by
 * a crash are indexed at the next open or the next search.
 */
export class SqliteFtsIndexer {
  readonly #db: SqliteDatabase;
  readonly #stmt: (sql: string) => Statement;
  /** Whether the background indexer is scheduled or running. */
  #indexing = false;
  /** The indexes `later` asked for since the background indexer's last pass began. */
  #want = { entries: false, lethe: false };
  /** The indexes given rows since their last merge step that found nothing to merge. */
  #unmerged = { entries: false, lethe: false };

  constructor(db: SqliteDatabase, stmt: (sql: string) => Statement) {
    this.#db = db;
    this.#stmt = stmt;
    if (db.readonly) return;
    if (this.backlog("entries") > 0) this.later("entries");
    if (this.backlog("lethe") > 0) this.later("lethe");
  }

  /** Rows written but not yet indexed (a gauge for tests and diagnosis). */
  backlog(index: FtsIndex): number {
    return this.#stmt(`SELECT count(*) FROM ${index}_fts_pending`).pluck(true).get() as number;
  }

  /**
   * Indexes every pending row a search could see, a chunk per turn: `userId`'s entries, or
   * (none given) the lethe rows. Throws what indexing threw (the rows stay pending).
   */
  async catchUp(index: FtsIndex, userId?: string): Promise<void> {
    while (index === "entries" ? this.#entries(userId) : this.#lethe()) await nextTurn();
    if (this.#unmerged[index]) this.#run();
  }

  /**
   * Indexes every pending row of `index` (both: all) in the background, a chunk per turn, the two
   * indexes in turn, and merges their segments a step per turn. Two turns before each piece, so
   * a write answered from an I/O callback does not index in the same turn (see runPaced). A
   * failure (the file closed, the disk full) leaves the rows pending: the next write starts
   * again, and a search indexes them itself and reports the error.
   */
  later(index?: FtsIndex): void {
    if (index !== "lethe") this.#want.entries = true;
    if (index !== "entries") this.#want.lethe = true;
    this.#run();
  }

  #run(): void {
    if (this.#indexing) return;
    this.#indexing = true;
    void (async () => {
      try {
        for (;;) {
          // A write during a pass asks again (its rows may be past that pass's check).
          const want = this.#want;
          const pass = INDEXES.filter((i) => want[i] || this.#unmerged[i]);
          if (pass.length === 0) return;
          this.#want = { entries: false, lethe: false };
          for (const index of pass) {
            if (want[index]) {
              if (!(await this.#turns())) return;
              if (index === "entries" ? this.#entries() : this.#lethe()) this.#want[index] = true;
            }
            if (this.#unmerged[index]) {
              if (!(await this.#turns())) return;
              if (!this.#merge(index)) this.#unmerged[index] = false;
            }
          }
        }
      } catch {
        // Left pending, as said above.
      } finally {
        this.#indexing = false;
      }
    })();
  }

  /** Two turns of the loop; whether the database is still open after them. */
  async #turns(): Promise<boolean> {
    await nextTurn();
    await nextTurn();
    return this.#db.open;
  }

  /**
   * One step of FTS5's incremental merge of `index`'s segments. Answers whether it merged
   * anything (FTS5's documented test: fewer than 2 changes is a step with nothing to do).
   */
  #merge(index: FtsIndex): boolean {
    const changes = this.#stmt("SELECT total_changes()").pluck(true);
    const before = changes.get() as number;
    this.#db.transaction(() => this.#stmt(`INSERT INTO ${index}_fts(${index}_fts, rank) VALUES('merge', ?)`).run(FTS_MERGE_PAGES))();
    return (changes.get() as number) - before >= 2;
  }

  /**
   * Indexes the oldest pending entry rows (only `userId`'s when given) in one transaction.
   * Answers whether more may be pending.
   */
  #entries(userId?: string): boolean {
    return this.#db.transaction(() => {
      const rows = (
        userId === undefined
          ? this.#stmt("SELECT seq, bytes FROM entries_fts_pending ORDER BY seq LIMIT ?").all(FTS_CHUNK)
          : this.#stmt("SELECT seq, bytes FROM entries_fts_pending WHERE user_id = ? ORDER BY seq LIMIT ?").all(userId, FTS_CHUNK)
      ) as { seq: number; bytes: number }[];
      const seqs = ftsChunk(rows, FTS_CHUNK_BYTES);
      if (seqs.length === 0) return false;
      this.#unmerged.entries = true;
      const json = JSON.stringify(seqs);
      // The owner column: the tenant tokens (o<hex user id>, plus c<hex user id> in the clade), see migration 1.
      this.#stmt(
        `INSERT INTO entries_fts(rowid, content, owner)
         SELECT seq, content, 'o' || lower(hex(user_id)) || CASE WHEN in_clade = 1 THEN ' c' || lower(hex(user_id)) ELSE '' END
         FROM entries WHERE seq IN (SELECT value FROM json_each(?))`,
      ).run(json);
      this.#stmt("DELETE FROM entries_fts_pending WHERE seq IN (SELECT value FROM json_each(?))").run(json);
      return seqs.length < rows.length || rows.length === FTS_CHUNK;
    })();
  }

  /** Indexes the oldest pending lethe rows in one transaction (lethe_fts reads its content from lethe_entries). */
  #lethe(): boolean {
    return this.#db.transaction(() => {
      const rows = this.#stmt("SELECT seq, bytes FROM lethe_fts_pending ORDER BY seq LIMIT ?").all(FTS_CHUNK) as {
        seq: number;
        bytes: number;
      }[];
      const seqs = ftsChunk(rows, FTS_CHUNK_BYTES);
      if (seqs.length === 0) return false;
      this.#unmerged.lethe = true;
      const json = JSON.stringify(seqs);
      this.#stmt(
        "INSERT INTO lethe_fts(rowid, content) SELECT seq, content FROM lethe_entries WHERE seq IN (SELECT value FROM json_each(?))",
      ).run(json);
      this.#stmt("DELETE FROM lethe_fts_pending WHERE seq IN (SELECT value FROM json_each(?))").run(json);
      return seqs.length < rows.length || rows.length === FTS_CHUNK;
    })();
  }
}
