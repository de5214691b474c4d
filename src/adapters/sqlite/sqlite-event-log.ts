import type { ArchiveRef, EventLog, LoggedEvent } from "../../core/fabric/event-log.js";
import { newId } from "../../core/platform/crypto.js";
import type { SqliteDatabase } from "./database.js";

interface ArchiveRow {
  stream: string;
  first_seq: number;
  last_seq: number;
  cid: string;
  created_at: number;
}

/**
 * Warm stream history in SQLite (micronode; amnesia uses the same code on `:memory:`). The
 * `streams` table keeps each stream's last seq and its oldest warm seq, so finding streams
 * to archive never scans the events. Batches are one transaction each.
 */
export class SqliteEventLog implements EventLog {
  readonly #db: SqliteDatabase;
  readonly #insert;
  readonly #upsertStream;
  readonly #read;
  readonly #oldestWarm;
  readonly #overflowing;
  readonly #insertArchive;
  readonly #deleteWarm;
  readonly #setWarmFrom;
  readonly #archives;
  readonly #oldestArchive;
  readonly #expired;
  readonly #deleteArchive;
  readonly #appendTx;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#insert = db.prepare("INSERT INTO stream_events (stream, seq, ts, channel, payload) VALUES (?, ?, ?, ?, ?)");
    this.#upsertStream = db.prepare(
      `INSERT INTO streams (stream, last_seq, warm_from) VALUES (?, ?, ?)
       ON CONFLICT(stream) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`,
    );
    this.#read = db.prepare("SELECT seq, ts, channel, payload FROM stream_events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?");
    this.#oldestWarm = db.prepare("SELECT MIN(seq) AS seq FROM stream_events WHERE stream = ?").pluck();
    this.#overflowing = db.prepare(
      "SELECT stream, last_seq - warm_from + 1 AS count FROM streams WHERE last_seq - warm_from + 1 > ? LIMIT ?",
    );
    this.#insertArchive = db.prepare(
      "INSERT INTO stream_archives (stream, first_seq, last_seq, cid, created_at) VALUES (@stream, @firstSeq, @lastSeq, @cid, @createdAt)",
    );
    this.#deleteWarm = db.prepare("DELETE FROM stream_events WHERE stream = ? AND seq <= ?");
    this.#setWarmFrom = db.prepare("UPDATE streams SET warm_from = MAX(warm_from, ?) WHERE stream = ?");
    this.#archives = db.prepare("SELECT * FROM stream_archives WHERE stream = ? AND last_seq > ? ORDER BY first_seq LIMIT ?");
    this.#oldestArchive = db.prepare("SELECT MIN(first_seq) FROM stream_archives WHERE stream = ?").pluck();
    this.#expired = db.prepare("SELECT * FROM stream_archives WHERE created_at < ? ORDER BY created_at LIMIT ?");
    this.#deleteArchive = db.prepare("DELETE FROM stream_archives WHERE stream = ? AND first_seq = ?");
    this.#appendTx = db.transaction((events: readonly LoggedEvent[]) => {
      const last = new Map<string, { first: number; last: number }>();
      for (const e of events) {
        this.#insert.run(e.stream, e.seq, e.ts, e.channel, e.payloadJson);
        const s = last.get(e.stream);
        if (s) s.last = e.seq;
        else last.set(e.stream, { first: e.seq, last: e.seq });
      }
      for (const [stream, s] of last) this.#upsertStream.run(stream, s.last, s.first);
    });
  }

  async epoch(): Promise<string> {
    const row = this.#db.prepare("SELECT value FROM fabric_meta WHERE key = 'epoch'").pluck().get() as string | undefined;
    if (row) return row;
    const epoch = newId("ep");
    this.#db.prepare("INSERT OR IGNORE INTO fabric_meta (key, value) VALUES ('epoch', ?)").run(epoch);
    return this.#db.prepare("SELECT value FROM fabric_meta WHERE key = 'epoch'").pluck().get() as string;
  }

  async lastSeqs(streams: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const get = this.#db.prepare("SELECT last_seq FROM streams WHERE stream = ?").pluck();
    for (const s of streams) {
      const seq = get.get(s) as number | undefined;
      if (seq !== undefined) out.set(s, seq);
    }
    return out;
  }

  async append(events: readonly LoggedEvent[]): Promise<void> {
    if (events.length > 0) this.#appendTx(events);
  }

  async read(stream: string, afterSeq: number, limit: number): Promise<LoggedEvent[]> {
    const rows = this.#read.all(stream, afterSeq, limit) as { seq: number; ts: number; channel: string; payload: string }[];
    return rows.map((r) => ({ stream, seq: r.seq, ts: r.ts, channel: r.channel, payloadJson: r.payload }));
  }

  async oldestWarmSeq(stream: string): Promise<number | undefined> {
    return (this.#oldestWarm.get(stream) as number | null) ?? undefined;
  }

  async overflowing(keep: number, limit: number): Promise<{ stream: string; count: number }[]> {
    return this.#overflowing.all(keep, limit) as { stream: string; count: number }[];
  }

  async archive(ref: ArchiveRef): Promise<void> {
    this.#db.transaction(() => {
      this.#insertArchive.run(ref);
      this.#deleteWarm.run(ref.stream, ref.lastSeq);
      this.#setWarmFrom.run(ref.lastSeq + 1, ref.stream);
    })();
  }

  async archives(stream: string, afterSeq: number, limit: number): Promise<ArchiveRef[]> {
    return (this.#archives.all(stream, afterSeq, limit) as ArchiveRow[]).map(toRef);
  }

  async oldestArchivedSeq(stream: string): Promise<number | undefined> {
    return (this.#oldestArchive.get(stream) as number | null) ?? undefined;
  }

  async redact(stream: string, needle: string, channel: string): Promise<number> {
    return this.#db
      .prepare("UPDATE stream_events SET channel = ?, payload = '{}' WHERE stream = ? AND instr(payload, ?) > 0")
      .run(channel, stream, needle).changes;
  }

  async replaceArchive(stream: string, firstSeq: number, cid: string): Promise<void> {
    this.#db.prepare("UPDATE stream_archives SET cid = ? WHERE stream = ? AND first_seq = ?").run(cid, stream, firstSeq);
  }

  async eraseStream(stream: string): Promise<ArchiveRef[]> {
    return this.#db.transaction(() => {
      const refs = (this.#db.prepare("DELETE FROM stream_archives WHERE stream = ? RETURNING *").all(stream) as ArchiveRow[]).map(toRef);
      this.#db.prepare("DELETE FROM stream_events WHERE stream = ?").run(stream);
      this.#db.prepare("DELETE FROM streams WHERE stream = ?").run(stream);
      return refs;
    })();
  }

  async expireArchives(before: number, limit: number): Promise<ArchiveRef[]> {
    return this.#db.transaction(() => {
      const rows = (this.#expired.all(before, limit) as ArchiveRow[]).map(toRef);
      for (const r of rows) this.#deleteArchive.run(r.stream, r.firstSeq);
      return rows;
    })();
  }
}

function toRef(r: ArchiveRow): ArchiveRef {
  return { stream: r.stream, firstSeq: r.first_seq, lastSeq: r.last_seq, cid: r.cid, createdAt: r.created_at };
}
