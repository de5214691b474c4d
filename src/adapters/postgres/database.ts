import postgres from "postgres";
import { MIGRATIONS } from "./migrations.js";

/** A PostgreSQL connection pool whose `search_path` is the cluster's schema. */
export type PgSql = postgres.Sql;
/** The handle of a transaction (`sql.begin`), usable wherever a query runs. */
export type PgTx = postgres.TransactionSql;

/** Options of `openPostgres`. */
export interface PostgresOptions {
  /** Schema holding this Styx's tables (the cluster name); created by `migratePostgres`. */
  readonly schema: string;
  /** Pool size (default 10). */
  readonly max?: number;
  /** Seconds to wait for a connection before a query fails (default 5). */
  readonly connectTimeoutS?: number;
}

/**
 * Opens a pool on `url` with every connection's search_path set to the schema, `bigint`
 * (epoch ms, seqs, counters) read as JavaScript numbers — all of ours stay below 2^53 — and
 * server notices silenced. Queries fail fast while the server is down and reconnect on their
 * own once it is back.
 */
export function openPostgres(url: string, opts: PostgresOptions): PgSql {
  return postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutS ?? 5,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { search_path: opts.schema, application_name: "styx" },
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  });
}

/**
 * Creates the schema if needed and applies pending migrations in order, each in its own
 * transaction, under an advisory lock (two gateways starting together apply each once), up
 * to version `upTo` (a restore loads a backup at its version first). Returns the versions applied.
 */
export async function migratePostgres(sql: PgSql, schema: string, upTo = Number.POSITIVE_INFINITY): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    // Per schema: clusters sharing a database migrate independently.
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`styx-migrate:${schema}`}))`;
    await tx`CREATE SCHEMA IF NOT EXISTS ${tx(schema)}`;
    await tx`CREATE TABLE IF NOT EXISTS ${tx(schema)}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set((await tx<{ version: number }[]>`SELECT version FROM ${tx(schema)}.schema_migrations`).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > upTo) continue;
      await tx.savepoint(async (sp) => {
        await sp`SET LOCAL search_path TO ${sp(schema)}`;
        await sp.unsafe(m.sql);
        await sp`INSERT INTO ${sp(schema)}.schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      });
      applied.push(m.version);
    }
  });
  return applied;
}

/** The highest applied migration (0 when the schema has none). */
export async function postgresSchemaVersion(sql: PgSql, schema: string): Promise<number> {
  const [exists] = await sql<{ t: string | null }[]>`SELECT to_regclass(${`${schema}.schema_migrations`}) AS t`;
  if (!exists?.t) return 0;
  const [row] = await sql<{ v: number | null }[]>`SELECT max(version) AS v FROM ${sql(schema)}.schema_migrations`;
  return row?.v ?? 0;
}

/** The newest migration this build knows. */
export const POSTGRES_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** postgres.js codes for a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);

/**
 * Whether `err` means PostgreSQL is unreachable or going away (rather than refusing a query):
 * a lost or refused connection, SQLSTATE class 08 (connection exception) or 57P01–57P03
 * (shutdown, crash, not accepting connections yet).
 */
export function isPostgresOutage(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  return (
    CONNECTION_CODES.has(code) ||
    code.startsWith("08") ||
    /^57P0[123]$/.test(code) ||
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(code)
  );
}
