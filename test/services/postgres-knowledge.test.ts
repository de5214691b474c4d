import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { migratePostgres, openPostgres, type PgSql } from "../../src/adapters/postgres/database.js";
import { PostgresAuditLog } from "../../src/adapters/postgres/postgres-audit-log.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { PostgresIdentityStore } from "../../src/adapters/postgres/postgres-identity-store.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { initCrypto } from "../../src/core/platform/crypto.js";
import { SecretKey } from "../../src/core/platform/secret-key.js";
import { type AuditRowsAccess, describeAuditLogContract } from "../../src/testing/contracts/audit-log.contract.js";
import { candidateFixture, describeEntryStoreContract, entryFixture } from "../../src/testing/contracts/entry-store.contract.js";
import { describeIdentityStoreContract } from "../../src/testing/contracts/identity-store.contract.js";
import { assertNoninterference } from "../../src/testing/noninterference.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

await initCrypto();

/** A migrated schema of its own and the pools opened on it (two pools stand for two gateways). */
interface Fixture {
  readonly schema: string;
  readonly pools: PgSql[];
}

let current: Fixture | undefined;

/** Drops the previous test's schema first, so a run never holds more than one fixture's connections. */
async function fresh(gateways = 1): Promise<PgSql[]> {
  await dispose();
  const schema = newCluster();
  const pools = Array.from({ length: gateways }, () => openPostgres(SERVICES.databaseUrl, { schema, max: 4 }));
  current = { schema, pools };
  await migratePostgres(pools[0] as PgSql, schema);
  return pools;
}

async function dispose(): Promise<void> {
  if (!current) return;
  const { schema, pools } = current;
  current = undefined;
  const [first] = pools;
  if (first) await first`DROP SCHEMA ${first(schema)} CASCADE`;
  await Promise.all(pools.map((p) => p.end()));
}

after(dispose);

async function one(): Promise<PgSql> {
  const [sql] = await fresh();
  return sql as PgSql;
}

describeIdentityStoreContract("postgres", async () => new PostgresIdentityStore(await one()));
describeAuditLogContract("postgres", async (key) => {
  const sql = await one();
  return { log: new PostgresAuditLog(sql, new ManualClock(), key), rows: postgresAuditRows(sql) };
});

/** The audit rows of a cluster's schema, written behind the adapter's back. */
function postgresAuditRows(sql: PgSql): AuditRowsAccess {
  return {
    async overwrite(records, head) {
      await sql.begin(async (tx) => {
        await tx`DELETE FROM audit_log`;
        await tx`DELETE FROM audit_head`;
        for (const r of records)
          await tx`INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash)
            VALUES (${r.seq}, ${r.ts}, ${r.actor}, ${r.action}, ${r.target}, ${r.requestId}, ${r.ip}, ${r.details}, ${r.prevHash}, ${r.hash})`;
        if (head) await tx`INSERT INTO audit_head (id, seq, hash) VALUES (1, ${head.seq}, ${head.hash})`;
      });
    },
  };
}
describeEntryStoreContract("postgres", async () => new PostgresEntryStore(await one()));

describe("Tenant noninterference on PostgreSQL (SPEC §4.2)", () => {
  it("gives user B byte-identical query and snapshot answers whether or not user A wrote to A's vault and clade", async () => {
    // One migrated schema; each world starts from emptied knowledge tables.
    const sql = await one();
    const open = async () => {
      await sql`DELETE FROM entries`;
      await sql`DELETE FROM lethe_queue`;
      await sql`DELETE FROM lethe_entries`;
      return { store: new PostgresEntryStore(sql), close: async () => {} };
    };
    await assertNoninterference(open, { runs: Number(process.env.NONINTERFERENCE_RUNS ?? 60) });
  });
});

describe("PostgreSQL stores shared by several gateways", () => {
  it("keep one audit chain when two gateways append concurrently", async () => {
    const key = SecretKey.fromBase64(Buffer.alloc(32, 3).toString("base64"));
    const [a, b] = (await fresh(2)).map((sql) => new PostgresAuditLog(sql, new ManualClock(), key));
    assert.ok(a && b, "two logs");
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append({ actor: "cli", action: "x", target: `t${i}` })));
    const v = await a.verify();
    assert.deepEqual([v.ok, v.records], [true, 40]);
  });

  it("store an idempotency key once when two gateways race on it", async () => {
    const [a, b] = (await fresh(2)).map((sql) => new PostgresEntryStore(sql));
    assert.ok(a && b, "two stores");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).insert(entryFixture(`e${i}`, { idempotencyKey: "k" }), candidateFixture(`c${i}`)),
      ),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.entry.id)).size, 1, "every caller gets the stored entry");
    assert.equal((await a.dueLethe(Number.MAX_SAFE_INTEGER, 100)).length, 1, "one candidate queued");
  });

  it("publish a candidate once when two gateways race on it", async () => {
    const [a, b] = (await fresh(2)).map((sql) => new PostgresEntryStore(sql));
    assert.ok(a && b, "two stores");
    const c = candidateFixture("c1");
    await a.insert(entryFixture("e1"), c);
    const results = await Promise.all([a.publishLethe(c, "h", 1), b.publishLethe(c, "h", 1), a.publishLethe(c, "h", 1)]);
    assert.equal(results.filter((r) => r !== undefined).length, 1);
  });

  it("never leave a domain waiting when two gateways bring its last two sources at once (k = 2)", async () => {
    const [a, b] = (await fresh(2)).map((sql) => new PostgresEntryStore(sql));
    assert.ok(a && b, "two stores");
    const domains = Array.from({ length: 12 }, (_, i) => `race${i}`);
    const write = (store: PostgresEntryStore, domain: string, source: string) =>
      store.insert(
        entryFixture(`e-${domain}-${source}`, { domain, letheAt: 2000 }),
        candidateFixture(`c-${domain}-${source}`, { domain, source, k: 2, dueAt: 2000, delayMs: 1000 }),
      );
    const results = await Promise.all(domains.flatMap((d) => [write(a, d, "src-a"), write(b, d, "src-b")]));
    assert.equal(results.filter((r) => !r.entry.letheWaiting).length, domains.length, "exactly one of each pair met k");
    assert.equal((await a.dueLethe(Number.MAX_SAFE_INTEGER, 100)).length, 2 * domains.length, "no candidate is left waiting");
  });

  it("insertManyWith rolls back with the caller's transaction", async () => {
    const sql = await one();
    const store = new PostgresEntryStore(sql);
    await assert.rejects(
      sql.begin(async (tx) => {
        const [stored] = await store.insertManyWith(tx, [{ entry: entryFixture("e1", { idempotencyKey: "k" }) }]);
        assert.equal(stored?.created, true);
        throw new Error("the caller fails after the entries");
      }),
      /the caller fails/,
    );
    assert.equal(await store.findByIdempotencyKey("u1", "k"), undefined);
  });
});
