import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LATEST_SCHEMA_VERSION, migrate, openDatabase, type SqliteDatabase, schemaVersion } from "../../../src/adapters/sqlite/database.js";
import { MIGRATIONS } from "../../../src/adapters/sqlite/migrations.js";
import { SqliteAchievementStore } from "../../../src/adapters/sqlite/sqlite-achievement-store.js";
import { SqliteAuditLog } from "../../../src/adapters/sqlite/sqlite-audit-log.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteCladeStore } from "../../../src/adapters/sqlite/sqlite-clade-store.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore, STORED_BYTES_SQL } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqliteMarketplaceStore } from "../../../src/adapters/sqlite/sqlite-marketplace-store.js";
import { SqlitePaymentLedger } from "../../../src/adapters/sqlite/sqlite-payment-ledger.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { SqliteQuotaStore } from "../../../src/adapters/sqlite/sqlite-quota-store.js";
import { firstVarint } from "../../../src/adapters/sqlite/tenant-bm25.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { describeAchievementStoreContract } from "../../../src/testing/contracts/achievement-store.contract.js";
import { type AuditRowsAccess, describeAuditLogContract } from "../../../src/testing/contracts/audit-log.contract.js";
import { describeCladeStoreContract } from "../../../src/testing/contracts/clade-store.contract.js";
import { describeCausalStoreContract, describePheromoneStoreContract } from "../../../src/testing/contracts/coordination.contract.js";
import { describeDeathStoreContract } from "../../../src/testing/contracts/death-store.contract.js";
import { describeEntryStoreContract, entryFixture } from "../../../src/testing/contracts/entry-store.contract.js";
import { describeIdentityStoreContract } from "../../../src/testing/contracts/identity-store.contract.js";
import { describeMarketplaceStoreContract } from "../../../src/testing/contracts/marketplace-store.contract.js";
import { describePaymentLedgerContract } from "../../../src/testing/contracts/payment-ledger.contract.js";
import { describeQuotaStoreContract } from "../../../src/testing/contracts/quota-store.contract.js";

await initCrypto();
describeIdentityStoreContract("sqlite", () => new SqliteIdentityStore(openDatabase(":memory:")));
describeAuditLogContract("sqlite", (key) => {
  const db = openDatabase(":memory:");
  return { log: new SqliteAuditLog(db, new ManualClock(), key), rows: sqliteAuditRows(db) };
});

/** The audit rows of a SQLite database, written behind the adapter's back. */
function sqliteAuditRows(db: SqliteDatabase): AuditRowsAccess {
  const insert = db.prepare(
    `INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash)
     VALUES (@seq, @ts, @actor, @action, @target, @requestId, @ip, @details, @prevHash, @hash)`,
  );
  return {
    async overwrite(records, head) {
      db.transaction(() => {
        db.exec("DELETE FROM audit_log; DELETE FROM audit_head");
        for (const r of records) insert.run(r);
        if (head) db.prepare("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)").run(head.seq, head.hash);
      })();
    },
  };
}

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

  it("count a user's stored bytes from an index alone, never reading the content (migration 9)", () => {
    const db = openDatabase(":memory:");
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${STORED_BYTES_SQL}`)
      .all("u1")
      .map((r) => (r as { detail: string }).detail);
    assert.deepEqual(plan, ["SEARCH entries USING COVERING INDEX entries_user_bytes (user_id=?)"]);
  });
});

describePheromoneStoreContract("sqlite", () => new SqlitePheromoneStore(openDatabase(":memory:")));
describeCausalStoreContract("sqlite", () => new SqliteCausalStore(openDatabase(":memory:")));
describeEntryStoreContract("sqlite", () => new SqliteEntryStore(openDatabase(":memory:")));
describeQuotaStoreContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqliteQuotaStore(db), new SqliteQuotaStore(db)];
});
describeCladeStoreContract("sqlite", () => new SqliteCladeStore(openDatabase(":memory:")));
describeAchievementStoreContract("sqlite", () => {
  const db = openDatabase(":memory:");
  return { achievements: new SqliteAchievementStore(db), identity: new SqliteIdentityStore(db) };
});
describeDeathStoreContract("sqlite", () => {
  // One database, as in the micronode: a death's transaction spans golems, entries and pheromones.
  const db = openDatabase(":memory:");
  const entries = new SqliteEntryStore(db);
  const pheromones = new SqlitePheromoneStore(db);
  return { deaths: new SqliteDeathStore(db, { entries, pheromones }), identity: new SqliteIdentityStore(db), entries, pheromones };
});

describe("SQLite lexical search", () => {
  it("finds query words however the index folded them (case, diacritics, final sigma, underscores)", async () => {
    const store = new SqliteEntryStore(openDatabase(":memory:"));
    const { seq } = (await store.insert(entryFixture("e", { content: "Café ΣΊΣΥΦΟΣ déjà-vu pool_drift 東京" }))).entry;
    const f = { userId: "u1", cladeOnly: false, now: 0 };
    for (const q of ["cafe", "CAFÉ", "σίσυφος", "DEJA", "pool_drift", "drift", "東京"]) {
      assert.deepEqual(
        (await store.searchText(q, f, 5)).map((h) => h.seq),
        [seq],
        q,
      );
    }
    assert.deepEqual(await store.searchText("_", f, 5), []);
  });

  it("reads token counts from FTS5 docsize varints, one to nine bytes", () => {
    assert.equal(firstVarint("0c02"), 12);
    assert.equal(firstVarint("81000c"), 128);
    assert.equal(firstVarint("819c2002"), 20_000);
  });
});
describePaymentLedgerContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqlitePaymentLedger(db), new SqlitePaymentLedger(db)];
});

describeMarketplaceStoreContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqliteMarketplaceStore(db), new SqliteMarketplaceStore(db)];
});
