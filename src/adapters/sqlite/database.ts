import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";

/** A better-sqlite3 connection. */
export type SqliteDatabase = Database.Database;

/** Options of `openDatabase`. */
export interface OpenDatabaseOptions {
  /** Open read-only (for `styx audit verify` and `doctor`); no migration is applied. */
  readonly readonly?: boolean;
  /** Apply pending migrations (default true when writable). */
  readonly migrate?: boolean;
}

/**
 * Opens the micronode database at `file` in WAL mode with foreign keys on. Writes are
 * durable against a process crash once the statement returns (synchronous=NORMAL in WAL
 * keeps the last transactions only on power loss).
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const inMemory = file === ":memory:";
  if (!options.readonly && !inMemory) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  // Sorts and temporary indexes stay in RAM: amnesia (":memory:") must never touch a temp file.
  db.pragma("temp_store = MEMORY");
  if (!options.readonly) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    if (options.migrate ?? true) migrate(db);
  }
  return db;
}

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: SqliteDatabase): number[] {
  const current = schemaVersion(db);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}

/** The schema version recorded in the database. */
export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** The newest schema version this build knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** True when `err` is a SQLite uniqueness or primary-key violation. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
