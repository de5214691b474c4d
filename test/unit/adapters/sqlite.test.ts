import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LATEST_SCHEMA_VERSION, migrate, openDatabase, schemaVersion } from "../../../src/adapters/sqlite/database.js";
import { MIGRATIONS } from "../../../src/adapters/sqlite/migrations.js";
import { SqliteAuditLog } from "../../../src/adapters/sqlite/sqlite-audit-log.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { describeAuditLogContract } from "../../../src/testing/contracts/audit-log.contract.js";
import { describeCausalStoreContract, describePheromoneStoreContract } from "../../../src/testing/contracts/coordination.contract.js";
import { describeEntryStoreContract } from "../../../src/testing/contracts/entry-store.contract.js";
import { describeIdentityStoreContract } from "../../../src/testing/contracts/identity-store.contract.js";

await initCrypto();
describeIdentityStoreContract("sqlite", () => new SqliteIdentityStore(openDatabase(":memory:")));
describeAuditLogContract("sqlite", () => new SqliteAuditLog(openDatabase(":memory:"), new ManualClock()));

describe("SQLite migrations", () => {
  it("bring a new database to the latest version and are idempotent", () => {
    const db = openDatabase(":memory:", { migrate: false });
    assert.equal(schemaVersion(db), 0);
    assert.deepEqual(
      migrate(db),
      MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(migrate(db), []);
    assert.equal(schemaVersion(db), LATEST_SCHEMA_VERSION);
  });
});

describePheromoneStoreContract("sqlite", () => new SqlitePheromoneStore(openDatabase(":memory:")));
describeCausalStoreContract("sqlite", () => new SqliteCausalStore(openDatabase(":memory:")));
describeEntryStoreContract("sqlite", () => new SqliteEntryStore(openDatabase(":memory:")));
