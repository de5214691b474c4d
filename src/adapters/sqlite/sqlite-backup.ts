import type { ArchiveRef, LoggedEvent } from "../../core/fabric/event-log.js";
import type { SqliteDatabase } from "./database.js";

/** A table as the backup copies it: its columns (with `rowid` first when the table's rowid is implicit). */
export interface SqliteBackupTable {
  readonly name: string;
  readonly columns: readonly string[];
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The tables a backup copies, in creation order (parents before children): every table but
 * SQLite's own, virtual tables (FTS5: their triggers rebuild them as rows are loaded) and
 * their shadow tables. A rowid table without an INTEGER PRIMARY KEY gets `rowid` as its first
 * column, so full-text rows keyed by rowid line up after a restore as before.
 */
export function backupTables(db: SqliteDatabase): SqliteBackupTable[] {
  const all = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid").all() as {
    name: string;
    sql: string | null;
  }[];
  const virtual = all.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql ?? "")).map((t) => t.name);
  const tables: SqliteBackupTable[] = [];
  for (const t of all) {
    if (t.name.startsWith("sqlite_") || virtual.includes(t.name) || virtual.some((v) => t.name.startsWith(`${v}_`))) continue;
    const info = db.prepare(`PRAGMA table_info(${quote(t.name)})`).all() as { name: string; type: string; pk: number }[];
    const columns = info.map((c) => c.name);
    const pk = info.filter((c) => c.pk > 0);
    const withoutRowid = /WITHOUT\s+ROWID/i.test(t.sql ?? "");
    const rowidAlias = pk.length === 1 && pk[0]?.type.toUpperCase() === "INTEGER";
    tables.push({ name: t.name, columns: withoutRowid || rowidAlias ? columns : ["rowid", ...columns] });
  }
  return tables;
}

/** How many rows `table` holds (inside the caller's transaction). */
export function countRows(db: SqliteDatabase, table: SqliteBackupTable): number {
  return db
    .prepare(`SELECT count(*) FROM ${quote(table.name)}`)
    .pluck()
    .get() as number;
}

/** The rows of `table` as value arrays in `table.columns` order (inside the caller's transaction). */
export function tableRows(db: SqliteDatabase, table: SqliteBackupTable): IterableIterator<unknown[]> {
  return db
    .prepare(`SELECT ${table.columns.map(quote).join(", ")} FROM ${quote(table.name)}`)
    .raw()
    .iterate() as IterableIterator<unknown[]>;
}

/**
 * A prepared insert of rows of `name` with `columns`. Booleans become 0/1, as SQLite stores them
 * (a macronode's backup holds PostgreSQL's true/false); every other value is stored as given.
 */
export function rowInserter(db: SqliteDatabase, name: string, columns: readonly string[]): (values: readonly unknown[]) => void {
  const stmt = db.prepare(`INSERT INTO ${quote(name)} (${columns.map(quote).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`);
  return (values) => {
    stmt.run(...values.map((v) => (typeof v === "boolean" ? Number(v) : v)));
  };
}

/** Turns foreign-key enforcement off (a restore loads rows table by table) or on again; outside a transaction only. */
export function enforceForeignKeys(db: SqliteDatabase, on: boolean): void {
  db.pragma(`foreign_keys = ${on ? "ON" : "OFF"}`);
}

/** How many rows refer to rows the database does not hold (checked after a load without enforcement). */
export function foreignKeyViolations(db: SqliteDatabase): number {
  return (db.pragma("foreign_key_check") as unknown[]).length;
}

/** Sets the epoch of the stream history: a restored store gets a new one, so positions from before it are not resumed. */
export function setStreamEpoch(db: SqliteDatabase, epoch: string): void {
  db.prepare("INSERT OR REPLACE INTO fabric_meta (key, value) VALUES ('epoch', ?)").run(epoch);
}

/**
 * The tables of the stream history (sqlite-event-log.ts: the epoch, each stream's last seq, the
 * warm events and the index of the cold archives, which are blobs). A macronode keeps its
 * history in JetStream instead: restoring a micronode backup into a cluster republishes them.
 */
export const HISTORY_TABLES = {
  meta: "fabric_meta",
  streams: "streams",
  events: "stream_events",
  archives: "stream_archives",
} as const;

/** The column `backupTables` adds to a rowid table: SQLite's own, which a PostgreSQL twin has not. */
export const ROWID_COLUMN = "rowid";

/** A backed-up row of `stream_events` as the event log reads it. */
export function historyEvent(columns: readonly string[], values: readonly unknown[]): LoggedEvent {
  const v = byName(columns, values);
  return { stream: String(v.stream), seq: Number(v.seq), ts: Number(v.ts), channel: String(v.channel), payloadJson: String(v.payload) };
}

/** A backed-up row of `stream_archives` as the event log reads it. */
export function historyArchive(columns: readonly string[], values: readonly unknown[]): ArchiveRef {
  const v = byName(columns, values);
  return {
    stream: String(v.stream),
    firstSeq: Number(v.first_seq),
    lastSeq: Number(v.last_seq),
    cid: String(v.cid),
    createdAt: Number(v.created_at),
  };
}

function byName(columns: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, c] of columns.entries()) out[c] = values[i];
  return out;
}

/**
 * Loads events into the warm tier of the stream history (a macronode's JetStream history
 * restored into a micronode): `add` in seq order per stream; `finish` records each stream's last
 * seq and its oldest kept one (the archival task moves the excess to cold archives later).
 */
export function historyWriter(db: SqliteDatabase) {
  const insert = rowInserter(db, HISTORY_TABLES.events, ["stream", "seq", "ts", "channel", "payload"]);
  const extent = new Map<string, { first: number; last: number }>();
  let events = 0;
  return {
    add(e: LoggedEvent): void {
      const x = extent.get(e.stream);
      if (x && e.seq <= x.last) throw new Error(`stream ${e.stream}: seq ${e.seq} after ${x.last}`);
      insert([e.stream, e.seq, e.ts, e.channel, e.payloadJson]);
      extent.set(e.stream, { first: x?.first ?? e.seq, last: e.seq });
      events++;
    },
    finish(): { streams: number; events: number } {
      const streams = rowInserter(db, HISTORY_TABLES.streams, ["stream", "last_seq", "warm_from"]);
      for (const [stream, { first, last }] of extent) streams([stream, last, first]);
      return { streams: extent.size, events };
    },
  };
}
