import { after } from "node:test";
import { migratePostgres, openPostgres } from "../../src/adapters/postgres/database.js";
import { PostgresCausalStore } from "../../src/adapters/postgres/postgres-causal-store.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import { describeFederationPagesContract } from "../../src/testing/contracts/federation-pages.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

const schema = newCluster();
const sql = openPostgres(SERVICES.databaseUrl, { schema, max: 4 });
await migratePostgres(sql, schema);

after(async () => {
  await sql`DROP SCHEMA ${sql(schema)} CASCADE`;
  await sql.end();
});

describeFederationPagesContract("postgres", async () => {
  await sql`TRUNCATE pheromones, pheromone_sources, pheromone_vectors, causal_edges, causal_votes, entries, lethe_queue, lethe_entries, lethe_writers`;
  return { pheromones: new PostgresPheromoneStore(sql), causal: new PostgresCausalStore(sql), entries: new PostgresEntryStore(sql) };
});
