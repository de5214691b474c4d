import type Database from "better-sqlite3";

/**
 * Bytes of the pages (dbstat, in aggregate mode) of `tables` and their indexes. Reads every page
 * of those b-trees: run it on a connection off the event loop (the checkpoint thread's) for a
 * file; a database in RAM has no thread and is read in place.
 */
export function tablePagesBytes(db: Database.Database, tables: readonly string[]): number {
  const marks = tables.map(() => "?").join(", ");
  const row = db
    .prepare(
      `SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat
        WHERE aggregate = 1 AND name IN (SELECT name FROM sqlite_schema WHERE tbl_name IN (${marks}))`,
    )
    .get(...tables) as { bytes: number };
  return row.bytes;
}
