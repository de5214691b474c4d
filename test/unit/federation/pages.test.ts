import { closeDatabase, openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { describeFederationPagesContract } from "../../../src/testing/contracts/federation-pages.contract.js";

const opened: ReturnType<typeof openDatabase>[] = [];

describeFederationPagesContract("sqlite", async () => {
  for (const db of opened.splice(0)) await closeDatabase(db);
  const db = openDatabase(":memory:");
  opened.push(db);
  return { pheromones: new SqlitePheromoneStore(db), causal: new SqliteCausalStore(db), entries: new SqliteEntryStore(db) };
});
