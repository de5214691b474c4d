import { join, resolve } from "node:path";
import { migrate as applyMigrations, openDatabase, schemaVersion } from "../adapters/sqlite/database.js";
import { DATABASE_FILE } from "../app/storage.js";
import { CliError, configFrom, parse } from "./args.js";

export const MIGRATE_HELP = `styx migrate [--data-dir DIR]
  Applies pending schema migrations to the store (the server also does this at start).`;

/** `styx migrate`. */
export async function migrate(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) return (console.log(MIGRATE_HELP), 0);
  const config = configFrom(values);
  if (config.amnesia) throw new CliError("amnesia has no store to migrate");
  if (config.profile === "macro") throw new CliError("macronode adapters are not part of this build yet");
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
