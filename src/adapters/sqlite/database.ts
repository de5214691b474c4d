import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { CheckpointWorkerData } from "./checkpoint-worker.js";
import { MIGRATIONS } from "./migrations.js";
import { tablePagesBytes } from "./table-bytes.js";

/** A better-sqlite3 connection. */
export type SqliteDatabase = Database.Database;

/** Options of `openDatabase`. */
export interface OpenDatabaseOptions {
  /** Open read-only (for `styx audit verify` and `doctor`); no migration is applied. */
  readonly readonly?: boolean;
  /** Apply pending migrations (default true when writable). */
  readonly migrate?: boolean;
  /**
   * Checkpoint the WAL from a worker thread instead of inside commits (default true for a
   * writable file; see `openDatabase`).
   */
  readonly backgroundCheckpoint?: boolean;
}

/** How often the checkpoint thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * WAL size (pages) at which a commit still checkpoints by itself: only reached when the
 * checkpoint thread is not keeping up or not running (64 MiB of 4 KiB pages).
 */
const BACKSTOP_AUTOCHECKPOINT_PAGES = 16_384;
/** SQLite's default auto-checkpoint (pages), used when no checkpoint thread runs. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * Opens the micronode database at `file` in WAL mode with foreign keys on. Writes are
 * durable against a process crash once the statement returns (synchronous=NORMAL in WAL
 * keeps the last transactions only on power loss).
 *
 * Checkpoints: by default SQLite checkpoints inside the commit that grows the WAL past 1,000
 * pages, on the calling thread, syncing both files: a 5-25 ms stall of the event loop every
 * few hundred small commits (measured: bench/relay.ts, docs/benchmarks.md). A writable file
 * database instead gets a checkpoint thread with its own connection (PASSIVE, every second);
 * commits only append to the WAL. Auto-checkpoint stays on at 16,384 pages as a backstop.
 * Durability is unchanged: a commit is in the WAL when it returns, as before.
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
    if (!inMemory && (options.backgroundCheckpoint ?? true)) checkpointInBackground(db, file);
  }
  return db;
}

/**
 * A probe answering whether another connection committed to `db` since the probe's last call
 * (SQLite's `PRAGMA data_version`): another process on the same file, such as `styx keys revoke`
 * beside a running micronode. This connection's own commits, and checkpoints, do not count.
 */
export function writtenElsewhere(db: SqliteDatabase): () => boolean {
  const version = db.prepare("PRAGMA data_version").pluck();
  let last = version.get();
  return () => {
    const now = version.get();
    if (now === last) return false;
    last = now;
    return true;
  };
}

/** The exit of each database's checkpoint thread (see `closeDatabase`). */
const checkpointThreads = new WeakMap<SqliteDatabase, Promise<void>>();
/** Each database's checkpoint thread, while it runs (it also measures tables, `tableBytes`). */
const checkpointWorkers = new WeakMap<SqliteDatabase, Worker>();
let measureIds = 0;

/**
 * Bytes of the pages of `tables` (and their indexes) in `db`, read by its checkpoint thread so
 * the event loop never walks them; a database without one (in RAM, read only) is read in place.
 */
export function tableBytes(db: SqliteDatabase, tables: readonly string[]): Promise<number> {
  const worker = checkpointWorkers.get(db);
  if (!worker) return Promise.resolve(tablePagesBytes(db, tables));
  const id = ++measureIds;
  return new Promise((resolve, reject) => {
    const done = (err?: Error, bytes?: number) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      if (err) reject(err);
      else resolve(bytes as number);
    };
    const onMessage = (m: { type?: string; id?: number; bytes?: number | null }) => {
      if (m?.type !== "measured" || m.id !== id) return;
      if (typeof m.bytes === "number") done(undefined, m.bytes);
      else done(new Error("the checkpoint thread could not measure the tables"));
    };
    const onExit = () => done(new Error("the checkpoint thread exited"));
    const timer = setTimeout(() => done(new Error("no measurement within 30 s")), 30_000);
    timer.unref();
    worker.on("message", onMessage);
    worker.once("exit", onExit);
    worker.postMessage({ type: "measure", id, tables });
  });
}

/**
 * Closes `db` and resolves once its checkpoint thread, if any, has closed its own connection
 * and exited: nothing of this database is still open when a caller goes on (to delete the data
 * dir, reopen it, or end the process, which would stop the thread wherever it is).
 */
export async function closeDatabase(db: SqliteDatabase): Promise<void> {
  if (db.open) db.close();
  await checkpointThreads.get(db);
}

/** Starts the checkpoint thread of `db` (stopped by `db.close()`); auto-checkpoint becomes the backstop. */
function checkpointInBackground(db: SqliteDatabase, file: string): void {
  // Run from TypeScript sources (tests under tsx), the worker is the compiled one: a worker
  // thread does not inherit tsx's loader (as for the vector index worker).
  const compiled = import.meta.url.endsWith(".ts") ? "../../../dist/adapters/sqlite/checkpoint-worker.js" : "./checkpoint-worker.js";
  let worker: Worker;
  try {
    worker = new Worker(new URL(compiled, import.meta.url), {
      workerData: { file, intervalMs: CHECKPOINT_INTERVAL_MS } satisfies CheckpointWorkerData,
    });
  } catch {
    return; // no thread: SQLite's own auto-checkpoint stays as it is
  }
  worker.unref();
  checkpointThreads.set(db, new Promise((resolve) => worker.once("exit", () => resolve())));
  checkpointWorkers.set(db, worker);
  worker.once("exit", () => checkpointWorkers.delete(db));
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  const fallBack = () => {
    // The thread is gone (or never started): commits checkpoint by themselves again.
    if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  worker.once("error", fallBack);
  worker.once("exit", fallBack);
  const close = db.close.bind(db);
  db.close = () => {
    worker.off("exit", fallBack);
    worker.off("error", fallBack);
    worker.once("error", () => {});
    // The thread finishes its checkpoint in progress, closes its connection and exits; held alive until then.
    worker.ref();
    worker.postMessage("close");
    return close();
  };
}

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: SqliteDatabase, upTo = Number.POSITIVE_INFINITY): number[] {
  const current = schemaVersion(db);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > upTo) continue;
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
