import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { outboundSource } from "../../../src/core/federation/records.js";
import { FederationSnapshot } from "../../../src/core/federation/snapshot.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const ME = "sx_0123456789abcdef";
const D = "sx_00000000000000dd";
const E = "sx_00000000000000ee";
const T = Date.UTC(2026, 2, 1, 12, 0, 30);

async function setup() {
  const clock = new ManualClock(T);
  const db = openDatabase(":memory:");
  const pheromones = new SqlitePheromoneStore(db);
  const causal = new SqliteCausalStore(db);
  const entries = new SqliteEntryStore(db);
  const reads: number[] = [];
  const snapshot = new FederationSnapshot({
    instanceId: ME,
    key: TEST_SECRET_KEY,
    pheromones: {
      pageLive: async (...a) => {
        const page = await pheromones.pageLive(...a);
        reads.push(page.length);
        return page;
      },
    },
    entries,
    causal,
    clock,
    pageSize: 2,
  });
  const deposit = (id: string, cls: string, source: string, domain = "defi") =>
    pheromones.deposit(
      { id, layer: "wisdom", class: cls, domain, regime: "bull", intensity: 0.7, sourceHash: source, metadata: {}, hv: null },
      T,
    );
  return { snapshot, deposit, causal, reads };
}

const all = async (snapshot: FederationSnapshot, exclude: string, takes = (_k: string) => true) => {
  const out = [];
  for await (const page of snapshot.pages("defi", exclude, takes)) out.push(...page);
  return out;
};

describe("FederationSnapshot", () => {
  it("reads a domain's live pheromones a page at a time, local rows as this Styx's records with re-hashed sources", async () => {
    const { snapshot, deposit, reads } = await setup();
    for (const [i, cls] of ["a", "b", "c", "d", "e"].entries()) await deposit(`phe_${i}`, cls, "f".repeat(24));
    await deposit("phe_x", "other", "f".repeat(24), "nft");
    const records = await all(snapshot, D);
    assert.deepEqual(reads, [2, 2, 1], "pages of two");
    assert.deepEqual(
      records.map((r) => r.id),
      ["phe_0", "phe_1", "phe_2", "phe_3", "phe_4"],
    );
    for (const r of records) {
      assert.equal(r.origin, ME);
      assert.equal(r.at, Date.UTC(2026, 2, 1, 12), "to the minute");
      assert.equal(r.kind === "pheromone" && r.pheromone.source, outboundSource(TEST_SECRET_KEY, "f".repeat(24)));
    }
  });

  it("keeps another instance's rows under their origin and source, and leaves out the asker's own", async () => {
    const { snapshot, deposit, causal } = await setup();
    await deposit("phe_d", "from-d", `${D}:${"a".repeat(24)}`);
    await deposit("phe_e", "from-e", `${E}:${"b".repeat(24)}`);
    await causal.publish(
      {
        id: "cau_1",
        fromVariable: "x",
        toVariable: "y",
        domain: "defi",
        regime: "bull",
        direction: "positive",
        strength: "weak",
        lagTicks: 1,
        evidenceCount: 3,
        confidence: 0.7,
        publisherHash: `${E}:${"c".repeat(24)}`,
      },
      T,
    );
    const records = await all(snapshot, D);
    assert.deepEqual(
      records.map((r) => [r.kind, r.origin, r.id]),
      [
        ["pheromone", E, "phe_e"],
        ["causal", E, "cau_1"],
      ],
    );
    assert.equal(records[1]?.kind === "causal" && records[1].causal.source, "c".repeat(24));
    assert.deepEqual(
      (await all(snapshot, D, (k) => k === "causal")).map((r) => r.id),
      ["cau_1"],
      "only the kinds the link takes",
    );
  });
});
