import type BetterSqlite3 from "better-sqlite3";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import type {
  BlobOrphan,
  EntryFilter,
  EntryListFilter,
  EntryPosition,
  EntryStore,
  LetheFilter,
  LetheReinforcement,
  QueryEntry,
  SeqMarks,
  StoredEntry,
  TextHit,
  Validated,
  VectorBatch,
} from "../../core/knowledge/entry-store.js";
import { confirmLethe } from "../../core/knowledge/entry-store.js";
import type { Entry, LetheCandidate, LetheEntry, NewEntry } from "../../core/knowledge/types.js";
import { entryNamespaces, letheIndexNamespaces } from "../../core/knowledge/types.js";
import { type SqlRow as Row, sqlBool, toBytes } from "../sql/codec.js";
import { earliestDue, QUERY_ENTRY_COLUMNS, toCandidate, toEntry, toLethe, toQueryEntry, vectorBatches } from "../sql/entry-rows.js";
import type { SqliteDatabase } from "./database.js";
import { ftsQuery, queryWords } from "./sqlite-codec.js";
import { SqliteEntryRecords } from "./sqlite-entry-records.js";
import { insertOutbox } from "./sqlite-federation-store.js";
import { type FtsIndex, SqliteFtsIndexer } from "./sqlite-fts-indexer.js";
import { firstVarint, rankByBm25 } from "./tenant-bm25.js";
import { type TurnTransaction, turnTransaction } from "./turn-transaction.js";

type Statement = BetterSqlite3.Statement<unknown[]>;

export { FTS_CHUNK, FTS_CHUNK_BYTES, ftsChunk } from "./sqlite-fts-indexer.js";

/**
 * EntryStore on SQLite: the micronode file, or `:memory:` under amnesia (same code, nothing
 * on disk). Lexical search is FTS5 matching ranked by a BM25 over the tenant's own matching
 * entries (lethe: FTS5's BM25, the layer being public); vectors are stored as float32 blobs.
 *
 * Full-text rows, an entry's (migration 15) and a published lethe entry's (migration 20), are
 * indexed after their write by `SqliteFtsIndexer`, a chunk per turn of the loop; a lexical
 * search first indexes the pending rows it could see (its tenant's own entries; every lethe
 * row), so it always sees every committed row.
 */
export class SqliteEntryStore implements EntryStore {
  readonly #db: SqliteDatabase;
  readonly #cache = new Map<string, Statement>();
  readonly #records: SqliteEntryRecords;
  readonly #turn: TurnTransaction;
  readonly #fts: SqliteFtsIndexer;
  #tempReady = false;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#turn = turnTransaction(db);
    this.#records = new SqliteEntryRecords(db, (sql) => this.#stmt(sql));
    this.#fts = new SqliteFtsIndexer(db, (sql) => this.#stmt(sql));
  }

  /** Full-text rows written but not yet indexed, of entries or of lethe entries (a gauge for tests and diagnosis). */
  ftsBacklog(index: FtsIndex = "entries"): number {
    return this.#fts.backlog(index);
  }

  #stmt(sql: string): Statement {
    let s = this.#cache.get(sql);
    if (!s) {
      s = this.#db.prepare<unknown[]>(sql);
      this.#cache.set(sql, s);
    }
    return s;
  }

  /**
   * Writes of one turn of the event loop (concurrent requests) share one transaction and one
   * commit (turn-transaction.ts), each in its own savepoint: a write that fails rejects alone.
   * Resolves once the group committed: the entry (and its pending full-text row) is in the WAL.
   */
  async insert(e: NewEntry, lethe?: LetheCandidate): Promise<StoredEntry> {
    const stored = await this.#turn.run(() => this.#insertOne(e, lethe));
    this.#fts.later("entries");
    return stored;
  }

  /** All or none (one savepoint), in the turn's group like `insert`. */
  async insertMany(items: readonly { entry: NewEntry; lethe?: LetheCandidate | undefined }[]): Promise<StoredEntry[]> {
    const stored = await this.#turn.run(() => items.map((i) => this.#insertOne(i.entry, i.lethe)));
    this.#fts.later("entries");
    return stored;
  }

  /**
   * `insertMany` for a caller that already holds a transaction on the same database (a death
   * stores its warnings with everything else it changes): synchronous, so a failure throws
   * inside the caller's transaction and rolls it all back.
   */
  insertManySync(items: readonly { entry: NewEntry; lethe?: LetheCandidate | undefined }[]): StoredEntry[] {
    const stored = this.#db.transaction(() => items.map((i) => this.#insertOne(i.entry, i.lethe)))();
    // Inside a caller's transaction this starts the indexer too: it runs turns later, after the commit.
    this.#fts.later("entries");
    return stored;
  }

  #insertOne(given: NewEntry, lethe?: LetheCandidate): StoredEntry {
    {
      if (given.idempotencyKey !== null) {
        const first = this.#stmt("SELECT * FROM entries WHERE user_id = ? AND idempotency_key = ?").get(
          given.userId,
          given.idempotencyKey,
        ) as Row | undefined;
        if (first) return { entry: toEntry(first), created: false };
      }
      const admitted = lethe ? this.#admit(lethe) : undefined;
      const e: NewEntry = admitted?.waiting ? { ...given, letheAt: null, letheWaiting: true } : given;
      const r = this.#stmt(
        `INSERT INTO entries (id, user_id, golem_id, category, content, content_hash, content_blob, embedding, domain, regime, confidence, affect, emotion,
           metadata, is_bloodstain, in_clade, validations, contradictions, created_at, expires_at, lethe_at, lethe_waiting, idempotency_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        e.id,
        e.userId,
        e.golemId,
        e.category,
        e.content,
        e.contentHash,
        e.contentBlob,
        toBytes(e.embedding),
        e.domain,
        e.regime,
        e.confidence,
        e.affect ? JSON.stringify(e.affect) : null,
        e.emotion,
        JSON.stringify(e.metadata),
        e.isBloodstain ? 1 : 0,
        e.inClade ? 1 : 0,
        e.validations,
        e.contradictions,
        e.createdAt,
        e.expiresAt,
        e.letheAt,
        e.letheWaiting ? 1 : 0,
        e.idempotencyKey,
      );
      if (lethe) this.#queue(lethe, admitted?.waiting ?? false);
      return { entry: { ...e, seq: Number(r.lastInsertRowid) }, created: true, releasedDue: admitted?.releasedDue };
    }
  }

  /**
   * k-anonymity inside the insert's transaction (SQLite has one writer, so the count cannot
   * race): the candidate's source joins its domain's writers; below k it waits, at k or more
   * the domain's waiting candidates fall due at this write's time plus their own delay.
   */
  #admit(c: LetheCandidate): { waiting: boolean; releasedDue?: number | undefined } {
    const joined =
      this.#stmt("INSERT INTO lethe_writers (domain, source) VALUES (?, ?) ON CONFLICT DO NOTHING").run(c.domain, c.source).changes > 0;
    // Whether a k-th writer exists (O(k)).
    const reached = this.#stmt("SELECT 1 FROM lethe_writers WHERE domain = ? LIMIT 1 OFFSET ?").get(c.domain, c.k - 1) !== undefined;
    if (!reached) return { waiting: true };
    // Candidates wait only while their domain is below k, and it reaches k only when a writer
    // joins (a lower k after a restart is released by releaseLethe): a known writer has nothing
    // to release. Measured inside a live micronode's write, the release statement (or, before it,
    // a COUNT over a LIMIT-ed subquery) cost ~1.1-1.8 ms per lethe write on the event loop.
    if (!joined) return { waiting: false };
    const released = this.#stmt(
      "UPDATE lethe_queue SET waiting = 0, due_at = ? + delay_ms WHERE domain = ? AND waiting = 1 RETURNING due_at",
    ).all(c.dueAt - c.delayMs, c.domain) as { due_at: number }[];
    return { waiting: false, releasedDue: earliestDue(released) };
  }

  async findByIdempotencyKey(userId: string, key: string): Promise<Entry | undefined> {
    const r = this.#stmt("SELECT * FROM entries WHERE user_id = ? AND idempotency_key = ?").get(userId, key) as Row | undefined;
    return r ? toEntry(r) : undefined;
  }

  async getBySeqs(seqs: readonly number[], f: EntryFilter): Promise<QueryEntry[]> {
    if (seqs.length === 0) return [];
    const { where, args } = entryWhere(f, "");
    const sql = `SELECT ${QUERY_ENTRY_COLUMNS} FROM entries WHERE seq IN (SELECT value FROM json_each(?)) AND ${where}`;
    return (this.#stmt(sql).all(JSON.stringify(seqs), ...args) as Row[]).map(toQueryEntry);
  }

  async searchText(text: string, f: EntryFilter, k: number): Promise<TextHit[]> {
    const words = queryWords(text);
    if (words.length === 0) return [];
    // Ranked by a BM25 over this tenant's matching entries alone (tenant-bm25.ts): FTS5's own
    // rank reads statistics of the whole index, every tenant's rows included. Everything comes
    // from the index, without reading the entries: the tenant's matches and their lengths in
    // tokens (the owner token in MATCH scopes it), then the term frequencies from the term
    // instances. Measured at 100k entries in the namespace: see the commit that made this.
    // Every committed entry of this tenant is searchable: its pending rows are indexed first.
    await this.#fts.catchUp("entries", f.userId);
    const owner = `${f.cladeOnly ? "c" : "o"}${Buffer.from(f.userId, "utf8").toString("hex")}`;
    const match = `owner:"${owner}" AND content:(${words.map((w) => `"${w}"`).join(" OR ")})`;
    // One string, not a row each: a Buffer per docsize blob cost more than the search itself.
    const sized = this.#stmt(
      `SELECT group_concat(f.rowid || ' ' || hex(d.sz), ' ') FROM entries_fts f
       JOIN entries_fts_docsize d ON d.id = f.rowid WHERE entries_fts MATCH ?`,
    )
      .pluck(true)
      .get(match) as string | null;
    if (!sized) return [];
    let parts = sized.split(" ");
    // A golem's own vault: its statistics too are its own matching entries', not its siblings'.
    if (f.golemId !== undefined) parts = this.#ofGolem(parts, f.golemId);
    const n = parts.length / 2;
    if (n === 0) return [];
    const seqs = new Array<number>(n);
    const lengths = new Float64Array(n);
    const row = new Map<number, number>();
    for (let d = 0; d < n; d++) {
      const seq = Number(parts[2 * d]);
      seqs[d] = seq;
      lengths[d] = firstVarint(parts[2 * d + 1] as string);
      row.set(seq, d);
    }
    const terms = this.#indexedTerms(words);
    const m = terms.length;
    const tf = new Float64Array(n * m);
    const instances = this.#stmt("SELECT doc FROM temp.entries_fts_instances WHERE term = ? AND col = 'content'").pluck(true);
    terms.forEach((term, t) => {
      for (const seq of instances.all(term) as number[]) {
        const d = row.get(seq);
        if (d !== undefined) tf[d * m + t] = (tf[d * m + t] as number) + 1;
      }
    });
    const ranked = rankByBm25({ terms: m, seqs, lengths, tf });
    // The tenant is already scoped; expiry and the list filters are checked best first.
    const out: TextHit[] = [];
    for (let i = 0; i < ranked.length && out.length < k; i += Math.max(2 * k, 64)) {
      out.push(...this.#alive(ranked.slice(i, i + Math.max(2 * k, 64)), f));
    }
    return out.slice(0, k);
  }

  /**
   * The query words as the full-text index holds them (case, diacritics, word breaks), by
   * FTS5's own tokenizer: a one-row scratch index of this connection's temp schema.
   */
  #indexedTerms(words: readonly string[]): string[] {
    if (!this.#tempReady) {
      this.#db.exec(`
        CREATE VIRTUAL TABLE IF NOT EXISTS temp.entries_fts_instances USING fts5vocab(main, entries_fts, instance);
        CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5(q, content='', tokenize='unicode61 remove_diacritics 2');
        CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms_vocab USING fts5vocab(temp, query_terms, row);`);
      this.#tempReady = true;
    }
    this.#stmt("INSERT INTO temp.query_terms(query_terms) VALUES ('delete-all')").run();
    this.#stmt("INSERT INTO temp.query_terms(rowid, q) VALUES (1, ?)").run(words.join(" "));
    return this.#stmt("SELECT term FROM temp.query_terms_vocab").pluck(true).all() as string[];
  }

  /** The (seq, docsize) pairs, flattened, of the entries `golemId` wrote. */
  #ofGolem(pairs: readonly string[], golemId: string): string[] {
    const seqs: number[] = [];
    for (let i = 0; i < pairs.length; i += 2) seqs.push(Number(pairs[i]));
    const mine = new Set(
      this.#stmt("SELECT seq FROM entries WHERE seq IN (SELECT value FROM json_each(?)) AND golem_id = ?")
        .pluck(true)
        .all(JSON.stringify(seqs), golemId) as number[],
    );
    const out: string[] = [];
    for (let i = 0; i < pairs.length; i += 2) if (mine.has(Number(pairs[i]))) out.push(pairs[i] as string, pairs[i + 1] as string);
    return out;
  }

  /** The hits whose entries pass the filter (tenant, TTL, domains, categories), in hit order. */
  #alive(hits: TextHit[], f: EntryFilter): TextHit[] {
    if (hits.length === 0) return [];
    const { where, args } = entryWhere(f, "");
    const ok = new Set(
      this.#stmt(`SELECT seq FROM entries WHERE seq IN (SELECT value FROM json_each(?)) AND ${where}`)
        .pluck(true)
        .all(JSON.stringify(hits.map((h) => h.seq)), ...args) as number[],
    );
    return hits.filter((h) => ok.has(h.seq));
  }

  async pageGolemEntries(golemId: string, afterSeq: number, limit: number, now: number): Promise<Entry[]> {
    return (
      this.#stmt(
        "SELECT * FROM entries WHERE golem_id = ? AND seq > ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY seq LIMIT ?",
      ).all(golemId, afterSeq, now, limit) as Row[]
    ).map(toEntry);
  }

  async golemEntrySeq(golemId: string, id: string): Promise<number | undefined> {
    const r = this.#stmt("SELECT seq FROM entries WHERE id = ? AND golem_id = ?").get(id, golemId) as { seq: number } | undefined;
    return r?.seq;
  }

  async purgeExpired(now: number): Promise<{ seq: number; userId: string; inClade: boolean }[]> {
    return this.#db.transaction(() => {
      const gone = this.#stmt(
        "SELECT seq, user_id, in_clade, content_blob FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?",
      ).all(now) as Row[];
      this.#stmt("DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?").run(now);
      for (const r of gone) {
        if (r.content_blob !== null) this.#records.markOrphanIfUnreferenced(r.user_id as string, r.content_blob as string, now);
      }
      return gone.map((r) => ({ seq: r.seq as number, userId: r.user_id as string, inClade: r.in_clade === 1 }));
    })();
  }

  async seqMarks(): Promise<SeqMarks> {
    const e = this.#stmt("SELECT COALESCE(MAX(seq), 0) AS m FROM entries").get() as { m: number };
    const l = this.#stmt("SELECT COALESCE(MAX(seq), 0) AS m FROM lethe_entries").get() as { m: number };
    return { entries: e.m, lethe: l.m };
  }

  async *scanVectors(batchSize: number, from: SeqMarks = { entries: 0, lethe: 0 }): AsyncIterable<VectorBatch> {
    for (const [table, nsOf] of [
      ["entries", (r: Row) => entryNamespaces({ userId: r.owner as string, inClade: sqlBool(r.in_clade) })],
      ["lethe_entries", (r: Row) => letheIndexNamespaces(r.owner as string)],
    ] as const) {
      const owner = table === "entries" ? "user_id AS owner, in_clade" : "domain AS owner";
      let after = table === "entries" ? from.entries : from.lethe;
      for (;;) {
        const rows = this.#stmt(
          `SELECT seq, ${owner}, embedding FROM ${table} WHERE embedding IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`,
        ).all(after, batchSize) as Row[];
        if (rows.length === 0) break;
        after = rows.at(-1)?.seq as number;
        yield* vectorBatches(rows, nsOf);
      }
    }
  }

  async dueLethe(now: number, limit: number): Promise<LetheCandidate[]> {
    return (this.#stmt("SELECT * FROM lethe_queue WHERE waiting = 0 AND due_at <= ? ORDER BY due_at LIMIT ?").all(now, limit) as Row[]).map(
      toCandidate,
    );
  }

  async nextLetheDue(): Promise<number | undefined> {
    const r = this.#stmt("SELECT MIN(due_at) AS due FROM lethe_queue WHERE waiting = 0").get() as { due: number | null };
    return r.due ?? undefined;
  }

  async releaseLethe(k: number, at: number): Promise<number | undefined> {
    const released = this.#stmt(
      `UPDATE lethe_queue SET waiting = 0, due_at = ? + delay_ms WHERE waiting = 1 AND domain IN (
         SELECT domain FROM lethe_writers WHERE domain IN (SELECT domain FROM lethe_queue WHERE waiting = 1)
         GROUP BY domain HAVING COUNT(*) >= ?)
       RETURNING due_at`,
    ).all(at, k) as { due_at: number }[];
    return earliestDue(released);
  }

  async dropLethe(candidateId: string): Promise<boolean> {
    return this.#stmt("DELETE FROM lethe_queue WHERE id = ?").run(candidateId).changes > 0;
  }

  /** The lethe row's full-text row is only noted as pending here (migration 20), indexed turns later. */
  async publishLethe(c: LetheCandidate, contentHash: string, at: number, outbox?: OutboxEntry): Promise<LetheEntry | undefined> {
    const published = this.#db.transaction(() => {
      if (this.#stmt("DELETE FROM lethe_queue WHERE id = ?").run(c.id).changes === 0) return undefined;
      const r = this.#stmt(
        `INSERT INTO lethe_entries (id, domain, category, content, content_hash, embedding, regime, confidence, is_bloodstain, metadata,
           sources, confirmation_confidences, bloodstain_confirmed, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        c.id,
        c.domain,
        c.category,
        c.content,
        contentHash,
        toBytes(c.embedding),
        c.regime,
        c.confidence,
        c.isBloodstain ? 1 : 0,
        JSON.stringify(c.metadata),
        JSON.stringify([c.source]),
        JSON.stringify([c.confidence]),
        c.isBloodstain ? 1 : 0,
        c.createdAt,
        at,
      );
      if (outbox) insertOutbox(this.#db, outbox);
      return toLethe(this.#stmt("SELECT * FROM lethe_entries WHERE seq = ?").get(r.lastInsertRowid) as Row);
    })();
    if (published) this.#fts.later("lethe");
    return published;
  }

  async reinforceLethe(candidateId: string, seq: number, r: LetheReinforcement, outbox?: OutboxEntry): Promise<LetheEntry | undefined> {
    return this.#db.transaction(() => {
      if (this.#stmt("DELETE FROM lethe_queue WHERE id = ?").run(candidateId).changes === 0) return undefined;
      const row = this.#stmt("SELECT * FROM lethe_entries WHERE seq = ?").get(seq) as Row | undefined;
      if (!row) return undefined;
      const c = confirmLethe(toLethe(row), r);
      this.#stmt(
        "UPDATE lethe_entries SET sources = ?, confirmation_confidences = ?, bloodstain_confirmed = ?, updated_at = ? WHERE seq = ?",
      ).run(JSON.stringify(c.sources), JSON.stringify(c.confirmationConfidences), c.bloodstainConfirmed ? 1 : 0, c.updatedAt, seq);
      if (outbox) insertOutbox(this.#db, outbox);
      return toLethe(this.#stmt("SELECT * FROM lethe_entries WHERE seq = ?").get(seq) as Row);
    })();
  }

  async findLetheByHash(domain: string, contentHash: string): Promise<LetheEntry | undefined> {
    const r = this.#stmt("SELECT * FROM lethe_entries WHERE domain = ? AND content_hash = ?").get(domain, contentHash) as Row | undefined;
    return r ? toLethe(r) : undefined;
  }

  async getLetheBySeqs(seqs: readonly number[], f: LetheFilter): Promise<LetheEntry[]> {
    if (seqs.length === 0) return [];
    const { where, args } = letheWhere(f, "");
    return (
      this.#stmt(`SELECT * FROM lethe_entries WHERE seq IN (SELECT value FROM json_each(?)) AND ${where}`).all(
        JSON.stringify(seqs),
        ...args,
      ) as Row[]
    ).map(toLethe);
  }

  async searchLetheText(text: string, f: LetheFilter, k: number): Promise<TextHit[]> {
    const match = ftsQuery(text);
    if (!match) return [];
    // Every published lethe row is searchable: the pending ones are indexed first (the layer is public: all of them).
    await this.#fts.catchUp("lethe");
    const { where, args } = letheWhere(f, "l.");
    const sql = `SELECT l.seq AS seq, -bm25(lethe_fts) AS relevance FROM lethe_fts JOIN lethe_entries l ON l.seq = lethe_fts.rowid
                 WHERE lethe_fts MATCH ? AND ${where} ORDER BY bm25(lethe_fts) LIMIT ?`;
    return this.#stmt(sql).all(match, ...args, k) as TextHit[];
  }

  async letheDomains(): Promise<string[]> {
    return (this.#stmt("SELECT DISTINCT domain FROM lethe_entries ORDER BY domain").all() as { domain: string }[]).map((r) => r.domain);
  }

  async getEntry(id: string, now: number): Promise<Entry | undefined> {
    return this.#records.getEntry(id, now);
  }

  async listEntries(filter: EntryListFilter, after: EntryPosition | undefined, limit: number): Promise<Entry[]> {
    return this.#records.listEntries(filter, after, limit);
  }

  async deleteEntry(
    userId: string,
    id: string,
    letheCandidateId: string,
    at: number,
  ): Promise<{ entry: Entry; letheDropped: boolean } | undefined> {
    return this.#records.deleteEntry(userId, id, letheCandidateId, at);
  }

  async blobReferences(userId: string, cid: string, now: number): Promise<number> {
    return this.#records.blobReferences(userId, cid, now);
  }

  async blobOrphans(before: number, limit: number): Promise<BlobOrphan[]> {
    return this.#records.blobOrphans(before, limit);
  }

  async dropBlobOrphan(userId: string, cid: string, since?: number): Promise<boolean> {
    return this.#records.dropBlobOrphan(userId, cid, since);
  }

  async validateEntry(seq: number, golemId: string, agrees: boolean, at: number): Promise<Validated<Entry> | undefined> {
    return this.#records.validateEntry(seq, golemId, agrees, at);
  }

  async getLetheById(id: string): Promise<LetheEntry | undefined> {
    return this.#records.getLetheById(id);
  }

  async validateLethe(seq: number, source: string, agrees: boolean, at: number): Promise<Validated<LetheEntry> | undefined> {
    return this.#records.validateLethe(seq, source, agrees, at);
  }

  /** Read from the covering index `entries_user_bytes` (migration 9): the expression must stay the index's. */
  async storedBytes(userId: string): Promise<number> {
    const row = this.#stmt(STORED_BYTES_SQL).get(userId) as { bytes: number };
    return row.bytes;
  }

  async queueLethe(c: LetheCandidate): Promise<void> {
    this.#db.transaction(() => {
      this.#admit(c);
      this.#queue(c, false);
    })();
  }

  /** A candidate's queue row (inside the caller's transaction); its text in a column, not in the payload's JSON (migration 20). */
  #queue(c: LetheCandidate, waiting: boolean): void {
    const { embedding, content, ...rest } = c;
    this.#stmt(
      "INSERT INTO lethe_queue (id, due_at, payload, content, embedding, domain, delay_ms, waiting) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(c.id, c.dueAt, JSON.stringify(rest), content, toBytes(embedding), c.domain, c.delayMs, waiting ? 1 : 0);
  }

  async pageLethe(domain: string, afterSeq: number, limit: number): Promise<LetheEntry[]> {
    const sql = "SELECT * FROM lethe_entries WHERE domain = ? AND seq > ? ORDER BY seq LIMIT ?";
    return (this.#stmt(sql).all(domain, afterSeq, limit) as Row[]).map(toLethe);
  }
}

/** A user's stored bytes of entries: a covering scan of `entries_user_bytes` (migration 9), whose expression this repeats. */
export const STORED_BYTES_SQL =
  "SELECT coalesce(sum(length(CAST(content AS BLOB)) + length(CAST(metadata AS BLOB))), 0) AS bytes FROM entries WHERE user_id = ?";

/**
 * Filters for rows already chosen by primary key. The unary `+` keeps SQLite from driving the
 * query through the user_id index instead (measured: a 100k-row scan per query without it).
 */
function entryWhere(f: EntryFilter, p: string): { where: string; args: unknown[] } {
  const parts = [`+${p}user_id = ?`, `(${p}expires_at IS NULL OR ${p}expires_at > ?)`];
  const args: unknown[] = [f.userId, f.now];
  if (f.golemId !== undefined) {
    parts.push(`+${p}golem_id = ?`);
    args.push(f.golemId);
  }
  if (f.cladeOnly) parts.push(`+${p}in_clade = 1`);
  return listFilters(f, p, parts, args);
}

function letheWhere(f: LetheFilter, p: string): { where: string; args: unknown[] } {
  return listFilters(f, p, ["1 = 1"], []);
}

/** Adds the optional domain and category lists (as JSON arrays) to a WHERE clause. */
function listFilters(f: LetheFilter, p: string, parts: string[], args: unknown[]): { where: string; args: unknown[] } {
  for (const [column, values] of [
    ["domain", f.domains],
    ["category", f.categories],
  ] as const) {
    if (!values?.length) continue;
    parts.push(`+${p}${column} IN (SELECT value FROM json_each(?))`);
    args.push(JSON.stringify(values));
  }
  return { where: parts.join(" AND "), args };
}
