import type postgres from "postgres";
import { isPostgresOutage, type PgSql, type PgTx } from "./database.js";
import { transactionSpan } from "./traced-database.js";

/** Where a pipeline's statements go: a reserved connection of the pool, or a caller's transaction. */
export type PgConn = postgres.Sql | PgTx;

/** How to read a piece of work's answer once every statement it sent was answered. */
export type Finish<T> = () => Promise<T>;

/**
 * Statements sent on one connection without waiting for each other's answers: postgres.js
 * writes whatever is sent in one turn in one flush, and PostgreSQL answers in order. A
 * statement that fails aborts the transaction, so every statement after it fails too (and a
 * COMMIT after it rolls back): `settled` rejects with the first failure. A piece of work sends
 * what it can, awaits only the answers its next statements depend on, and returns a `Finish`
 * reading its answer, so the transaction's COMMIT goes out in the same flush as its last
 * statements.
 */
export class Pipeline {
  readonly q: PgConn;
  readonly #sent: Promise<unknown>[] = [];
  #closed = false;

  constructor(q: PgConn) {
    this.q = q;
  }

  /** Sends `query` now, behind everything sent before it; its answer (its failure is also `settled`'s). */
  send<T extends readonly postgres.MaybeRow[]>(query: postgres.PendingQuery<T>): Promise<postgres.RowList<T>> {
    if (this.#closed) throw new Error("a statement was sent after its transaction ended");
    const answer = query.execute();
    // Read by `settled` (and by the sender when it needs the rows): never an unhandled rejection.
    answer.catch(() => {});
    this.#sent.push(answer);
    return answer;
  }

  /** Resolves once every statement sent so far was answered; rejects with the first failure. */
  async settled(): Promise<void> {
    await Promise.all(this.#sent);
  }

  /** Refuses any later statement (the transaction is over). */
  close(): void {
    this.#closed = true;
  }
}

/**
 * One transaction whose statements are pipelined: BEGIN goes out with the work's first
 * statements and COMMIT with its last, on a connection reserved from the pool, so a
 * transaction whose statements depend on nothing costs one round trip, and each answer the work
 * must read before sending more costs one more. The answer is read (`Finish`) after COMMIT
 * succeeded. On a failure the transaction is rolled back and the connection given back; one
 * lost to an outage is the pool's again once it closed.
 */
export async function pipelined<T>(sql: PgSql, work: (p: Pipeline) => Promise<Finish<T>>): Promise<T> {
  return transactionSpan(sql, async () => {
    const q = await sql.reserve();
    const p = new Pipeline(q);
    try {
      p.send(q`begin`);
      const finish = await work(p);
      p.send(q`commit`);
      await p.settled();
      p.close();
      q.release();
      return finish();
    } catch (err) {
      p.close();
      await abandon(q, err);
      throw err;
    }
  });
}

/**
 * Work whose statements go to `conn` pipelined the same way, without a transaction of its own:
 * in the caller's transaction, or on the pool for work that is one statement (autocommit)
 * followed at most by reads. Resolves once every statement was answered.
 */
export async function pipelinedIn<T>(conn: PgConn, work: (p: Pipeline) => Promise<Finish<T>>): Promise<T> {
  const p = new Pipeline(conn);
  const finish = await work(p);
  await p.settled();
  return finish();
}

/** Rolls back a failed transaction and gives its connection back, unless the connection itself was lost. */
async function abandon(q: postgres.ReservedSql, err: unknown): Promise<void> {
  if (isPostgresOutage(err)) return;
  try {
    // After a failed statement the COMMIT (if sent) rolled back already; this one then only warns.
    await q`rollback`;
  } catch (rollbackErr) {
    if (isPostgresOutage(rollbackErr)) return;
  }
  q.release();
}
