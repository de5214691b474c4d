import { migrateStore } from "../app/migrate.js";
import { configFrom, parse } from "./args.js";

export const MIGRATE_HELP = `styx migrate [--data-dir DIR] [--profile micro|macro]
  Applies pending schema migrations to the store (the server also does this at start):
  the SQLite file in the data dir, or the cluster's schema in STYX_DATABASE_URL (macro).`;

/** `styx migrate`. */
export async function migrate(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) return (console.log(MIGRATE_HELP), 0);
  const r = await migrateStore(configFrom(values));
  const where = r.schema === undefined ? "" : ` to schema ${r.schema}`;
  const store = r.schema === undefined ? "schema" : `schema ${r.schema}`;
  console.log(
    r.applied.length
      ? `applied migrations ${r.applied.join(", ")}${where}; schema version ${r.version}`
      : `${store} up to date (version ${r.version})`,
  );
  return 0;
}
