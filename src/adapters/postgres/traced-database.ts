import type { Tracer } from "../../core/platform/tracer.js";
import type { PgSql } from "./database.js";

const ATTRIBUTES = { "db.system.name": "postgresql", "db.operation.name": "TRANSACTION" };

/** The tracer of each traced pool, for the transactions that do not go through `sql.begin` (pipelined.ts). */
const tracers = new WeakMap<PgSql, Tracer>();

/**
 * Makes every transaction of the pool a span `postgresql.transaction` (under the active span: a
 * traced request's store call; none in background work): `sql.begin`, and the pipelined
 * transactions of pipelined.ts through `transactionSpan`. postgres.js has no maintained
 * OpenTelemetry instrumentation (`@opentelemetry/instrumentation-pg` is for `pg`); a
 * macronode's writes and deposits run in transactions, so this is where their time shows.
 * With a disabled tracer the pool is left as it is.
 */
export function tracePostgresTransactions(sql: PgSql, tracer: Tracer): void {
  if (!tracer.enabled) return;
  tracers.set(sql, tracer);
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  const traced = (...args: unknown[]) =>
    tracer.span("postgresql.transaction", () => begin(...args), { kind: "client", attributes: ATTRIBUTES });
  (sql as { begin: unknown }).begin = traced;
}

/** Runs `fn` (a transaction on `sql`) in a span `postgresql.transaction` when the pool is traced; else just runs it. */
export function transactionSpan<T>(sql: PgSql, fn: () => Promise<T>): Promise<T> {
  const tracer = tracers.get(sql);
  return tracer ? tracer.span("postgresql.transaction", fn, { kind: "client", attributes: ATTRIBUTES }) : fn();
}
