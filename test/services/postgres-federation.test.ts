import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { migratePostgres, openPostgres } from "../../src/adapters/postgres/database.js";
import { PostgresCausalStore } from "../../src/adapters/postgres/postgres-causal-store.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { PostgresErasureStore } from "../../src/adapters/postgres/postgres-erasure-store.js";
import { insertOutbox, PostgresFederationStore } from "../../src/adapters/postgres/postgres-federation-store.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import { describeFactOutboxContract } from "../../src/testing/contracts/fact-outbox.contract.js";
import { FED_ORIGIN, FED_T0, linkFixture } from "../../src/testing/contracts/federation-fixtures.js";
import { describeFederationStoreContract } from "../../src/testing/contracts/federation-store.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

const schema = newCluster();
/** Two pools on one schema stand for two gateways sharing the database. */
const sql = openPostgres(SERVICES.databaseUrl, { schema, max: 6 });
const other = openPostgres(SERVICES.databaseUrl, { schema, max: 6 });
await migratePostgres(sql, schema);

after(async () => {
  await sql`DROP SCHEMA ${sql(schema)} CASCADE`;
  await Promise.all([sql.end(), other.end()]);
});

/** Empties the tables the suites write, so each case starts from nothing. */
async function clean(): Promise<void> {
  await sql`TRUNCATE federation_links, federation_claims, federation_cursors, federation_outbox, federation_relay, pheromones, pheromone_sources,
    pheromone_vectors, causal_edges, causal_votes, entries, lethe_queue, lethe_entries, lethe_writers`;
}

describeFederationStoreContract("postgres, two gateways", async () => {
  await clean();
  return { store: new PostgresFederationStore(sql), twin: new PostgresFederationStore(other), enqueue: (e) => insertOutbox(sql, e) };
});

describeFactOutboxContract("postgres", async () => {
  await clean();
  return {
    pheromones: new PostgresPheromoneStore(sql),
    causal: new PostgresCausalStore(sql),
    entries: new PostgresEntryStore(sql),
    federation: new PostgresFederationStore(sql),
    // The next leader reads the relay outbox over its own pool.
    restarted: async () => new PostgresFederationStore(other),
  };
});

describe("PostgresFederationStore claims under contention", () => {
  it("lets exactly one of many claims of one pair through, spread over two pools' connections at once", async () => {
    await clean();
    const stores = [new PostgresFederationStore(sql), new PostgresFederationStore(other)];
    for (let round = 0; round < 5; round++) {
      const got = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 2]?.claim(FED_ORIGIN, `race-${round}`, FED_T0)));
      assert.equal(got.filter((x) => x === true).length, 1, `round ${round}: ${got.join(",")}`);
    }
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM federation_claims`;
    assert.equal(row?.n, 5);
  });
});

describe("PostgresErasureStore and federation links", () => {
  it("removes the links of an erased golem's keys, then of the erased user, and nobody else's", async () => {
    await clean();
    await sql`TRUNCATE api_keys, golems, users CASCADE`;
    for (const u of ["usr_e", "usr_other"]) await sql`INSERT INTO users (id, tier, created_at, updated_at) VALUES (${u}, 'free', 1, 1)`;
    await sql`INSERT INTO golems (id, user_id, generation, status, created_at) VALUES ('g1', 'usr_e', 1, 'alive', 1)`;
    const key = (id: string, userId: string, golemId: string | null) =>
      sql`INSERT INTO api_keys (id, user_id, golem_id, name, key_hash, scopes, created_at) VALUES (${id}, ${userId}, ${golemId}, ${id}, ${`h-${id}`}, '[]', 1)`;
    await key("key_g1", "usr_e", "g1");
    await key("key_owner", "usr_e", null);
    await key("key_other", "usr_other", null);
    const federation = new PostgresFederationStore(sql);
    await federation.saveLink(linkFixture("key_g1", { userId: "usr_e" }));
    await federation.saveLink(linkFixture("key_owner", { userId: "usr_e" }));
    await federation.saveLink(linkFixture("key_other", { userId: "usr_other" }));
    const erasure = new PostgresErasureStore(sql);
    await erasure.eraseGolemRecords("g1", "src-g1", undefined);
    assert.deepEqual((await federation.links()).map((l) => l.keyId).sort(), ["key_other", "key_owner"]);
    await erasure.eraseUserRecords("usr_e", "usr_erased", FED_T0);
    assert.deepEqual(
      (await federation.links()).map((l) => l.keyId),
      ["key_other"],
    );
  });
});
