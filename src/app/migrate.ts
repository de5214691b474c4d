import { join, resolve } from "node:path";
import { migratePostgres, openPostgres, postgresSchemaVersion } from "../adapters/postgres/database.js";
import { migrate, openDatabase, schemaVersion } from "../adapters/sqlite/database.js";
import type { Config } from "../config/load.js";
import { OperatorError } from "./operator-error.js";
import { DATABASE_FILE } from "./storage.js";

/** What `migrateStore` did. */
export interface MigrationReport {
  /** Macronode: the cluster's schema migrated (a micronode's store is its data dir's database). */
  readonly schema?: string;
  /** Versions applied now, in order (none when the store was up to date). */
  readonly applied: readonly number[];
  /** The store's schema version now. */
  readonly version: number;
}

/** Migrates the cluster schema STYX_CLUSTER names, in STYX_DATABASE_URL. */
async function migrateCluster(config: Config): Promise<MigrationReport> {
  if (!config.databaseUrl) throw new OperatorError("STYX_DATABASE_URL is required to migrate a macronode");
  const sql = openPostgres(config.databaseUrl, { schema: config.cluster, max: 1 });
  try {
    const applied = await migratePostgres(sql, config.cluster);
    return { schema: config.cluster, applied, version: await postgresSchemaVersion(sql, config.cluster) };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Applies pending schema migrations to the configured store (the server also does at start):
 * the SQLite file in the data dir, or the cluster's schema in STYX_DATABASE_URL (macronode).
 */
export async function migrateStore(config: Config): Promise<MigrationReport> {
  if (config.amnesia) throw new OperatorError("amnesia has no store to migrate");
  if (config.profile === "macro") return migrateCluster(config);
  const db = openDatabase(join(resolve(config.dataDir), DATABASE_FILE), { migrate: false });
  try {
    const applied = migrate(db);
    return { applied, version: schemaVersion(db) };
  } finally {
    db.close();
  }
}
