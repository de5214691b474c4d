import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import { closeDatabase, openDatabase } from "../../../src/adapters/sqlite/database.js";
import { insertOutbox, SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { describeFederationStoreContract } from "../../../src/testing/contracts/federation-store.contract.js";

describeFederationStoreContract("memory", () => {
  const store = new MemoryFederationStore();
  return { store, enqueue: (e) => store.enqueue(e) };
});

describeFederationStoreContract("sqlite :memory:", () => {
  const db = openDatabase(":memory:");
  return { store: new SqliteFederationStore(db), enqueue: (e) => insertOutbox(db, e), close: () => closeDatabase(db) };
});

// Two connections on one file stand for two processes sharing the database.
describeFederationStoreContract("sqlite file, two connections", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-fed-"));
  const db = openDatabase(join(dir, "styx.db"));
  const other = openDatabase(join(dir, "styx.db"), { backgroundCheckpoint: false });
  return {
    store: new SqliteFederationStore(db),
    twin: new SqliteFederationStore(other),
    enqueue: (e) => insertOutbox(db, e),
    close: async () => {
      await closeDatabase(other);
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
