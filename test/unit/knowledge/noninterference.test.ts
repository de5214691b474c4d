import { describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { assertNoninterference } from "../../../src/testing/noninterference.js";

await initCrypto();

describe("Tenant noninterference on SQLite (SPEC §4.2)", () => {
  it("gives user B byte-identical query and snapshot answers whether or not user A wrote to A's vault and clade", async () => {
    await assertNoninterference(
      async () => {
        const db = openDatabase(":memory:");
        return { store: new SqliteEntryStore(db), close: async () => void db.close() };
      },
      { runs: Number(process.env.NONINTERFERENCE_RUNS ?? 150) },
    );
  });
});
