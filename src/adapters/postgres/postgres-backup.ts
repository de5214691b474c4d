import { sqlBool } from "../sql/codec.js";
import type { PgSql, PgTx } from "./database.js";

/** A table of the cluster's schema as the backup copies it. */
export interface PostgresBackupTable {
  readonly name: string;
  /** Stored columns (generated ones are recomputed on insert and left out). */
  readonly columns: readonly string[];
  /** Identity columns, whose sequences are moved past the loaded values. */
  readonly identity: readonly string[];
  /** Boolean columns: a row from SQLite (a micronode's backup) holds them as 0/1. */
  readonly booleans: readonly string[];
}

type Db = PgSql | PgTx;

/** The server's secrets: a table in a cluster, files of the data dir in a micronode. */
export const SERVER_SECRETS_TABLE = "server_secrets";

/**
 * Columns of a cluster's tables that a micronode's have not: `deaths.seq` (the order deaths were
 * recorded in, an identity here; SQLite keeps it as the rowid). A restore into a micronode leaves them out.
 */
export const POSTGRES_ONLY_COLUMNS: Readonly<Record<string, readonly string[]>> = { deaths: ["seq"] };

/**
 * The tables of `schema` a backup copies, parents before children (by foreign key), without
 * the migration ledger (a restore migrates the target itself).
 */
export async function backupTables(db: Db, schema: string): Promise<PostgresBackupTable[]> {
  const cols = await db<{ table_name: string; column_name: string; is_generated: string; is_identity: string; data_type: string }[]>`
    SELECT c.table_name, c.column_name, c.is_generated, c.is_identity, c.data_type
      FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = ${schema} AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
     ORDER BY c.table_name, c.ordinal_position`;
  const byTable = new Map<string, { columns: string[]; identity: string[]; booleans: string[] }>();
  for (const c of cols) {
    const t = byTable.get(c.table_name) ?? { columns: [], identity: [], booleans: [] };
    byTable.set(c.table_name, t);
    if (c.is_generated === "ALWAYS") continue;
    t.columns.push(c.column_name);
    if (c.is_identity === "YES") t.identity.push(c.column_name);
    if (c.data_type === "boolean") t.booleans.push(c.column_name);
  }
  const fks = await db<{ child: string; parent: string }[]>`
    SELECT cl.relname AS child, pl.relname AS parent
      FROM pg_constraint k
      JOIN pg_class cl ON cl.oid = k.conrelid
      JOIN pg_class pl ON pl.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
     WHERE k.contype = 'f' AND n.nspname = ${schema}`;
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (t: string) => {
    if (order.includes(t) || visiting.has(t)) return;
    visiting.add(t);
    for (const fk of fks) if (fk.child === t && fk.parent !== t) visit(fk.parent);
    visiting.delete(t);
    order.push(t);
  };
  for (const t of [...byTable.keys()].sort()) visit(t);
  return order
    .filter((t) => byTable.has(t))
    .map((name) => ({ name, ...(byTable.get(name) as { columns: string[]; identity: string[]; booleans: string[] }) }));
}

/** Rows of `table`, counted inside the caller's (snapshot) transaction. */
export async function countRows(tx: Db, schema: string, table: Pick<PostgresBackupTable, "name">): Promise<number> {
  const [r] = await tx<{ n: number }[]>`SELECT count(*)::bigint AS n FROM ${tx(schema)}.${tx(table.name)}`;
  return r?.n ?? 0;
}

/** The rows of `table` in column order, read with a cursor inside the caller's transaction. */
export async function* tableRows(tx: PgTx, schema: string, table: PostgresBackupTable): AsyncGenerator<unknown[]> {
  const cursor = tx`SELECT ${tx(table.columns as string[])} FROM ${tx(schema)}.${tx(table.name)}`.values().cursor(500);
  for await (const rows of cursor) for (const r of rows) yield r as unknown[];
}

/**
 * Inserts rows of `table` with `columns` in batches of 500, identity values kept as they were
 * (OVERRIDING SYSTEM VALUE); `flush` sends the rest and moves each identity sequence past the
 * largest value loaded. Booleans are taken as SQLite writes them too (0/1, a micronode's
 * backup); every other value is stored as given (the schemas share their encodings:
 * adapters/sql/codec.ts).
 */
export function rowInserter(tx: Db, schema: string, table: PostgresBackupTable, columns: readonly string[]) {
  const target = `${ident(schema)}.${ident(table.name)}`;
  const head = `INSERT INTO ${target} (${columns.map(ident).join(", ")}) OVERRIDING SYSTEM VALUE VALUES `;
  const boolean = columns.map((c) => table.booleans.includes(c));
  const value = (v: unknown, i: number) => (v === undefined || v === null ? null : boolean[i] ? sqlBool(v) : v);
  let batch: (readonly unknown[])[] = [];
  const send = async () => {
    if (batch.length === 0) return;
    const params: unknown[] = [];
    const tuples = batch.map((r) => `(${columns.map((_, i) => (params.push(value(r[i], i)), `$${params.length}`)).join(", ")})`);
    batch = [];
    await tx.unsafe(head + tuples.join(", "), params as never[]);
  };
  return {
    async add(values: readonly unknown[]) {
      batch.push(values);
      if (batch.length >= 500) await send();
    },
    async flush() {
      await send();
      for (const col of table.identity)
        await tx.unsafe(
          `SELECT setval(pg_get_serial_sequence($1, $2), (SELECT COALESCE(max(${ident(col)}), 0) + 1 FROM ${target}), false)`,
          [target, col],
        );
    },
  };
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Rows held by the tables of `schema` (0 for a schema that does not exist): a restore target must hold none. */
export async function rowsInSchema(db: Db, schema: string): Promise<number> {
  let n = 0;
  for (const t of await backupTables(db, schema)) {
    const [r] = await db<{ n: number }[]>`SELECT count(*)::bigint AS n FROM ${db(schema)}.${db(t.name)}`;
    n += r?.n ?? 0;
  }
  return n;
}

/** Runs `fn` in one REPEATABLE READ, read-only transaction: every read of a backup sees the same snapshot. */
export async function inSnapshot<T>(sql: PgSql, fn: (tx: PgTx) => Promise<T>): Promise<T> {
  return (await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", fn)) as T;
}

/**
 * One connection held for a restore's load, with its transaction begun, committed and rolled
 * back by hand: the load spans the reading of a backup file, which no callback transaction can.
 */
export interface LoadSession {
  /** The held connection: queries here run inside the transaction once it began. */
  readonly db: Db;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Gives the connection back to the pool. */
  release(): void;
}

/** Reserves a connection of the pool for a restore's load. */
export async function loadSession(sql: PgSql): Promise<LoadSession> {
  const reserved = await sql.reserve();
  return {
    db: reserved,
    begin: async () => void (await reserved`BEGIN`),
    commit: async () => void (await reserved`COMMIT`),
    rollback: async () => void (await reserved`ROLLBACK`),
    release: () => reserved.release(),
  };
}

/** Empties every table of `schema` (the rows a failed restore committed); never throws. */
export async function truncateTables(sql: PgSql, schema: string): Promise<void> {
  for (const t of await backupTables(sql, schema).catch(() => []))
    await sql`TRUNCATE ${sql(schema)}.${sql(t.name)} CASCADE`.catch(() => {});
}
