import type { SqliteDatabase } from "./database.js";

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

interface Item {
  readonly work: () => unknown;
  readonly rolledBack: (() => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Groups committed and the writes they held, over every database of the process (benchmarks read it: writes per commit). */
export const turnStats = { groups: 0, writes: 0 };

/**
 * Group commit on one SQLite database: the writes requested in one turn of the event loop
 * (concurrent requests) run in arrival order inside one transaction, each in its own savepoint,
 * and the group commits once. A commit appends the pages a transaction touched to the WAL, so
 * single-row transactions each wrote the same index and table pages again (~80 µs of the ~110 µs
 * a single entry write spent in SQLite; bench/writes.ts): a group shares them.
 *
 * What a caller is promised is unchanged: its promise resolves only after the group's COMMIT
 * returned (the write is in the WAL, synchronous=NORMAL: it survives a crash of the process),
 * and a write that fails rolls back its own savepoint and rejects alone, its neighbours commit.
 * If the COMMIT itself fails (or an error rolled back the whole transaction), every caller of
 * the group is rejected and every item's `rolledBack` hook runs (a store's memory in RAM of
 * what it wrote is then forgotten).
 *
 * The group runs at `setImmediate`, in the check phase of the turn that queued its first write:
 * requests parsed in the same poll phase share it, and none waits more than that turn.
 */
export class TurnTransaction {
  /** The group: BEGIN, each item in its savepoint, COMMIT (one transaction function, made once). */
  readonly #group: (batch: readonly Item[]) => Outcome[];
  #queue: Item[] = [];

  constructor(db: SqliteDatabase) {
    // Nested better-sqlite3 transactions are savepoints: an item's failure undoes its own statements only.
    const savepoint = db.transaction((work: () => unknown) => work());
    this.#group = db.transaction((batch: readonly Item[]) =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: savepoint(item.work) };
        } catch (err) {
          // Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction:
          // the items before this one are gone too, so the group fails as a whole.
          if (!db.inTransaction) throw err;
          return { ok: false, err };
        }
      }),
    );
  }

  /**
   * Runs `work` (synchronous statements on this database) in this turn's group; resolves with its
   * result once the group committed, or rejects with its own error (its savepoint rolled back).
   */
  run<T>(work: () => T, rolledBack?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, rolledBack, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** Writes waiting for this turn's group (a gauge for tests). */
  get queued(): number {
    return this.#queue.length;
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.#group(batch);
    } catch (err) {
      for (const item of batch) {
        try {
          item.rolledBack?.();
        } catch {
          // A hook only forgets memory; the caller hears of the commit's failure either way.
        }
        item.reject(err);
      }
      return;
    }
    turnStats.groups++;
    turnStats.writes += batch.length;
    outcomes.forEach((o, i) => {
      const item = batch[i] as Item;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.err);
    });
  }
}

const groups = new WeakMap<SqliteDatabase, TurnTransaction>();

/** The one group of `db`: every store on the same connection shares it, so their writes of a turn commit together. */
export function turnTransaction(db: SqliteDatabase): TurnTransaction {
  let group = groups.get(db);
  if (!group) {
    group = new TurnTransaction(db);
    groups.set(db, group);
  }
  return group;
}
