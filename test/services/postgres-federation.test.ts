import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { migratePostgres, openPostgres } from "../../src/adapters/postgres/database.js";
import { PostgresCausalStore } from "../../src/adapters/postgres/postgres-causal-store.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { insertOutbox, PostgresFederationStore } from "../../src/adapters/postgres/postgres-federation-store.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import { describeFactOutboxContract } from "../../src/testing/contracts/fact-outbox.contract.js";
import { FED_ORIGIN, FED_T0 } from "../../src/testing/contracts/federation-fixtures.js";
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
  await sql`TRUNCATE federation_links, federation_claims, federation_cursors, federation_outbox, pheromones, pheromone_sources,
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
