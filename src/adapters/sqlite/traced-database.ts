import type { Tracer } from "../../core/platform/tracer.js";
import type { SqliteDatabase } from "./database.js";

/** A better-sqlite3 transaction function with its deferred / immediate / exclusive variants. */
type TransactionFn = ((...args: unknown[]) => unknown) & Record<"deferred" | "immediate" | "exclusive", (...args: unknown[]) => unknown>;

const ATTRIBUTES = { "db.system.name": "sqlite", "db.operation.name": "TRANSACTION" };

/**
 * Makes every transaction of `db` a span `sqlite.transaction` (under the active span: a traced
 * request's store call; none in background work). Transactions are where a micronode's writes
 * spend their time (statements, FTS queue, commit into the WAL); a statement-level span would
 * cost more than most statements. With a disabled tracer `db` is left as it is.
 */
export function traceTransactions(db: SqliteDatabase, tracer: Tracer): void {
  if (!tracer.enabled) return;
  const original = db.transaction.bind(db);
  const traced = (fn: (...args: unknown[]) => unknown) => {
    const tx = original(fn) as unknown as TransactionFn;
    const spanned = (run: (...args: unknown[]) => unknown, mode: string) => {
      const options = { kind: "client" as const, attributes: { ...ATTRIBUTES, "styx.sqlite.mode": mode } };
      return (...args: unknown[]) => tracer.span("sqlite.transaction", () => run(...args), options);
    };
    return Object.assign(spanned(tx, "deferred"), {
      deferred: spanned(tx.deferred, "deferred"),
      immediate: spanned(tx.immediate, "immediate"),
      exclusive: spanned(tx.exclusive, "exclusive"),
    });
  };
  db.transaction = traced as unknown as SqliteDatabase["transaction"];
}
