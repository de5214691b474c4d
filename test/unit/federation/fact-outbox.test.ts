import { closeDatabase, openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { describeFactOutboxContract } from "../../../src/testing/contracts/fact-outbox.contract.js";

describeFactOutboxContract("sqlite", () => {
  const db = openDatabase(":memory:");
  return {
    pheromones: new SqlitePheromoneStore(db),
    causal: new SqliteCausalStore(db),
    entries: new SqliteEntryStore(db),
    federation: new SqliteFederationStore(db),
    close: () => closeDatabase(db),
  };
});
