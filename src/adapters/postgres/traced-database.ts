import type { Tracer } from "../../core/platform/tracer.js";
import type { PgSql } from "./database.js";

const ATTRIBUTES = { "db.system.name": "postgresql", "db.operation.name": "TRANSACTION" };

/**
 * Makes every `sql.begin` transaction of the pool a span `postgresql.transaction` (under the
 * active span: a traced request's store call; none in background work). postgres.js has no
 * maintained OpenTelemetry instrumentation (`@opentelemetry/instrumentation-pg` is for `pg`);
 * a macronode's writes and deposits run in transactions, so this is where their time shows.
 * With a disabled tracer the pool is left as it is.
 */
export function tracePostgresTransactions(sql: PgSql, tracer: Tracer): void {
  if (!tracer.enabled) return;
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  const traced = (...args: unknown[]) =>
    tracer.span("postgresql.transaction", () => begin(...args), { kind: "client", attributes: ATTRIBUTES });
  (sql as { begin: unknown }).begin = traced;
}
