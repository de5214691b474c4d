import type { SqliteDatabase } from "./database.js";

/** SQLite's `quick_check` of the database: `ok`, or the first problems it found. */
export function quickCheck(db: SqliteDatabase): string {
  return String(db.pragma("quick_check", { simple: true }));
}
