import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

// A file the next process opens: the relay outbox outlives the connection that wrote it.
describeFactOutboxContract("sqlite file, reopened", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-relay-"));
  const file = join(dir, "styx.db");
  const db = openDatabase(file);
  let next: ReturnType<typeof openDatabase> | undefined;
  return {
    pheromones: new SqlitePheromoneStore(db),
    causal: new SqliteCausalStore(db),
    entries: new SqliteEntryStore(db),
    federation: new SqliteFederationStore(db),
    restarted: async () => {
      await closeDatabase(db);
      next = openDatabase(file);
      return new SqliteFederationStore(next);
    },
    close: async () => {
      if (next) await closeDatabase(next);
      else await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
