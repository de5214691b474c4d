import { join, resolve } from "node:path";
import { migratePostgres, openPostgres, postgresSchemaVersion } from "../adapters/postgres/database.js";
import { migrate as applyMigrations, openDatabase, schemaVersion } from "../adapters/sqlite/database.js";
import { DATABASE_FILE } from "../app/storage.js";
import type { Config } from "../config/load.js";
import { CliError, configFrom, parse } from "./args.js";

export const MIGRATE_HELP = `styx migrate [--data-dir DIR] [--profile micro|macro]
  Applies pending schema migrations to the store (the server also does this at start):
  the SQLite file in the data dir, or the cluster's schema in STYX_DATABASE_URL (macro).`;

/** `styx migrate`. */
export async function migrate(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) return (console.log(MIGRATE_HELP), 0);
  const config = configFrom(values);
  if (config.amnesia) throw new CliError("amnesia has no store to migrate");
  if (config.profile === "macro") return migrateMacro(config);
  const db = openDatabase(join(resolve(config.dataDir), DATABASE_FILE), { migrate: false });
  try {
    const applied = applyMigrations(db);
    console.log(
      applied.length
        ? `applied migrations ${applied.join(", ")}; schema version ${schemaVersion(db)}`
        : `schema up to date (version ${schemaVersion(db)})`,
    );
  } finally {
    db.close();
  }
  return 0;
}

async function migrateMacro(config: Config): Promise<number> {
  if (!config.databaseUrl) throw new CliError("STYX_DATABASE_URL is required to migrate a macronode");
  const sql = openPostgres(config.databaseUrl, { schema: config.cluster, max: 1 });
  try {
    const applied = await migratePostgres(sql, config.cluster);
    const v = await postgresSchemaVersion(sql, config.cluster);
    console.log(
      applied.length
        ? `applied migrations ${applied.join(", ")} to schema ${config.cluster}; schema version ${v}`
        : `schema ${config.cluster} up to date (version ${v})`,
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
  return 0;
}
