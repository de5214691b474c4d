import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteAchievementStore } from "../../../src/adapters/sqlite/sqlite-achievement-store.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqliteMarketplaceStore } from "../../../src/adapters/sqlite/sqlite-marketplace-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { exportUser } from "../../../src/core/identity/export-service.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { presentExportRecord } from "../../../src/server/presenters/identity.js";
import { FED_T0, linkFixture } from "../../../src/testing/contracts/federation-fixtures.js";

describe("GET /v1/styx/export and federation links (SPEC §17)", () => {
  it("lists the links downstreams made with the user's keys, and nobody else's", async () => {
    const db = openDatabase(":memory:");
    const identity = new SqliteIdentityStore(db);
    await identity.createUser({ id: "usr_fed", walletAddress: null, reputation: 0, tier: "consumer", createdAt: 1, updatedAt: 1 });
    const entries = new SqliteEntryStore(db);
    const federation = new SqliteFederationStore(db);
    await federation.saveLink(linkFixture("key_mine", { userId: "usr_fed", lastSeenAt: FED_T0 + 60_000 }));
    await federation.saveLink(linkFixture("key_theirs", { userId: "usr_other" }));
    const records = [];
    const deps = {
      identity,
      entries,
      deaths: new SqliteDeathStore(db, { entries, pheromones: new SqlitePheromoneStore(db) }),
      achievements: new SqliteAchievementStore(db),
      blobs: new MemoryBlobStore(),
      marketplace: new SqliteMarketplaceStore(db),
      federation,
      clock: new ManualClock(FED_T0),
    };
    for await (const r of exportUser(deps, "usr_fed")) if (r.type === "federation_link") records.push(presentExportRecord(r, FED_T0));
    assert.deepEqual(records, [
      {
        type: "federation_link",
        key_id: "key_mine",
        instance_id: "sx_fedcba9876543210",
        version: "1.0.0",
        flows: ["pheromone", "lethe:down"],
        domains: ["defi", "nft"],
        embed_dim: 384,
        hello_at: new Date(FED_T0).toISOString(),
        last_seen_at: new Date(FED_T0 + 60_000).toISOString(),
      },
    ]);
  });
});
