import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LATEST_SCHEMA_VERSION, migrate, openDatabase, type SqliteDatabase, schemaVersion } from "../../../src/adapters/sqlite/database.js";
import { MIGRATIONS } from "../../../src/adapters/sqlite/migrations.js";
import { SqliteAchievementStore } from "../../../src/adapters/sqlite/sqlite-achievement-store.js";
import { SqliteAuditLog } from "../../../src/adapters/sqlite/sqlite-audit-log.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteCladeStore } from "../../../src/adapters/sqlite/sqlite-clade-store.js";
import { SqliteCredit } from "../../../src/adapters/sqlite/sqlite-credit.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { FTS_CHUNK, ftsChunk, SqliteEntryStore, STORED_BYTES_SQL } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
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
import { describeCreditContract } from "../../../src/testing/contracts/credit.contract.js";
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

  it("indexes a write's full-text row after the write: in the background, or first by its tenant's search (only its own)", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const ftsRows = () => db.prepare("SELECT count(*) FROM entries_fts_docsize").pluck(true).get() as number;
    await store.insert(entryFixture("a1", { content: "slippage on the pool" }));
    await store.insert(entryFixture("b1", { userId: "u2", content: "slippage elsewhere" }));
    assert.equal(store.ftsBacklog(), 2, "the write's transaction notes the rows, it does not index them");
    assert.equal(ftsRows(), 0);
    // u2's search indexes u2's row and finds it; u1's row stays pending for the background.
    const hits = await store.searchText("slippage", { userId: "u2", cladeOnly: false, now: 0 }, 5);
    assert.equal(hits.length, 1);
    assert.equal(store.ftsBacklog(), 1);
    assert.equal(ftsRows(), 1);
    for (let i = 0; i < 10 && store.ftsBacklog() > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(store.ftsBacklog(), 0, "the background indexer caught up within a few turns");
    assert.equal(ftsRows(), 2);
  });

  it("indexes in chunks, and a tenant's search sees every one of its committed entries", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const n = FTS_CHUNK * 2 + 5;
    await store.insertMany(Array.from({ length: n }, (_, i) => ({ entry: entryFixture(`e${i}`, { content: `drift ${i}` }) })));
    assert.equal(store.ftsBacklog(), n);
    const hits = await store.searchText("drift", { userId: "u1", cladeOnly: false, now: 0 }, 1_000);
    assert.equal(hits.length, n);
    assert.equal(store.ftsBacklog(), 0);
  });

  it("bounds an indexing transaction by content bytes too, and a search still finds every large entry", async () => {
    assert.deepEqual(
      ftsChunk(
        [
          { seq: 1, bytes: 40_000 },
          { seq: 2, bytes: 20_000 },
          { seq: 3, bytes: 10_000 },
        ],
        65_536,
      ),
      [1, 2],
    );
    assert.deepEqual(ftsChunk([{ seq: 7, bytes: 90_000 }], 65_536), [7], "a row over the bound goes alone");
    assert.deepEqual(ftsChunk([], 65_536), []);
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const big = "liquidity ".repeat(5_000); // 50,000 bytes
    await store.insertMany(Array.from({ length: 5 }, (_, i) => ({ entry: entryFixture(`big${i}`, { content: `${big} ${i}` }) })));
    assert.deepEqual(db.prepare("SELECT bytes FROM entries_fts_pending ORDER BY seq LIMIT 1").pluck(true).all(), [50_002]);
    assert.equal((await store.searchText("liquidity", { userId: "u1", cladeOnly: false, now: 0 }, 10)).length, 5);
    assert.equal(store.ftsBacklog(), 0);
  });

  it("deletes a still-pending entry without a trace in the index, and an indexed one from it", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const f = { userId: "u1", cladeOnly: false, now: 0 };
    await store.insert(entryFixture("indexed", { content: "volatility spike" }));
    assert.equal((await store.searchText("volatility", f, 5)).length, 1);
    await store.insert(entryFixture("pending", { content: "volatility regime" }));
    assert.equal(store.ftsBacklog(), 1);
    assert.ok(await store.deleteEntry("u1", "pending", "none", 0));
    assert.ok(await store.deleteEntry("u1", "indexed", "none", 0));
    assert.equal(store.ftsBacklog(), 0);
    assert.deepEqual(await store.searchText("volatility", f, 5), []);
    assert.equal(db.prepare("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'volatility'").pluck(true).get(), 0);
  });

  it("indexes rows a crash left pending when the file is opened again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-fts-"));
    try {
      const file = join(dir, "styx.db");
      const first = openDatabase(file, { backgroundCheckpoint: false });
      await new SqliteEntryStore(first).insert(entryFixture("e", { content: "bloodstain warning" }));
      first.close(); // before the background indexer's turn: the row is durable, pending
      const db = openDatabase(file, { backgroundCheckpoint: false });
      const store = new SqliteEntryStore(db);
      assert.equal(store.ftsBacklog(), 1);
      for (let i = 0; i < 10 && store.ftsBacklog() > 0; i++) await new Promise((r) => setImmediate(r));
      assert.equal(store.ftsBacklog(), 0);
      assert.equal((await store.searchText("bloodstain", { userId: "u1", cladeOnly: false, now: 0 }, 5)).length, 1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads token counts from FTS5 docsize varints, one to nine bytes", () => {
    assert.equal(firstVarint("0c02"), 12);
    assert.equal(firstVarint("81000c"), 128);
    assert.equal(firstVarint("819c2002"), 20_000);
  });
});
describeCreditContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqliteCredit(db), new SqliteCredit(db)];
});
describePaymentLedgerContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqlitePaymentLedger(db), new SqlitePaymentLedger(db), new SqliteCredit(db)];
});

describeMarketplaceStoreContract("sqlite", async () => {
  const db = openDatabase(":memory:");
  return [new SqliteMarketplaceStore(db), new SqliteMarketplaceStore(db)];
});
