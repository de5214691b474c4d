import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { CausalService } from "../../../src/core/coordination/causal-service.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import { FederationEmitter } from "../../../src/core/federation/outlet.js";
import { type FederationRecord, outboundSource } from "../../../src/core/federation/records.js";
import { LetheService } from "../../../src/core/knowledge/lethe-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemSourceHash } from "../../../src/core/platform/secret-key.js";
import { recordToWire } from "../../../src/protocol/federation-codec.js";
import { candidateFixture, entryFixture } from "../../../src/testing/contracts/entry-fixtures.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const ME = "sx_0123456789abcdef";
const D = "sx_00000000000000dd";
const g1 = aliveGolem("glm_7hq2x9kd0pz4", "usr_owner1");
const T = Date.UTC(2026, 0, 1, 12, 0, 30);

/** The fact services of one SQLite database, their outlet queueing into that database's outbox (everything up, domains dex and defi). */
async function setup() {
  const clock = new ManualClock(T);
  const recorded = await recordingBus(clock);
  const db = openDatabase(":memory:");
  const federation = new SqliteFederationStore(db);
  const outlet = new FederationEmitter({
    instanceId: ME,
    key: TEST_SECRET_KEY,
    flows: parseFlows("pheromone,lethe,causal"),
    domains: parseFederatedDomains("dex,defi"),
    upstream: true,
    store: federation,
    bus: recorded.bus,
    clock,
    wire: (r) => recordToWire(r) as unknown as Record<string, unknown>,
    wake: () => {},
    warn: (msg, err) => assert.fail(`${msg}: ${err}`),
  });
  const deps = { bus: recorded.bus, clock, key: TEST_SECRET_KEY, pipeline: testPipeline(), federation: outlet };
  const pheromones = new PheromoneService({ store: new SqlitePheromoneStore(db), ...deps });
  const causal = new CausalService({ store: new SqliteCausalStore(db), ...deps });
  const entries = new SqliteEntryStore(db);
  const lethe = new LetheService({
    store: entries,
    vectors: new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 }),
    ...deps,
    letheK: 1,
    embedDim: 4,
  });
  const outbox = async () => (await federation.due(Number.MAX_SAFE_INTEGER, 100)).map((i) => i.record);
  return { clock, federation, pheromones, causal, entries, lethe, outbox };
}

describe("own records queued with the write (SPEC §17.2 up)", () => {
  it("queues a local deposit as this Styx's record, its source re-hashed and its time to the minute", async () => {
    const { pheromones, outbox } = await setup();
    const out = await pheromones.deposit(g1, { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull" });
    const [record, ...rest] = await outbox();
    assert.equal(rest.length, 0);
    assert.equal(record?.origin, ME);
    assert.equal(record?.id, out.pheromone.id, "the deposit's id");
    assert.equal(record?.at, Date.UTC(2026, 0, 1, 12, 0));
    const local = golemSourceHash(TEST_SECRET_KEY, g1.id);
    assert.equal(record?.kind === "pheromone" && record.pheromone.source, outboundSource(TEST_SECRET_KEY, local));
  });

  it("queues nothing for a domain that does not federate", async () => {
    const { pheromones, outbox } = await setup();
    await pheromones.deposit(g1, { layer: "threat", class: "rug", intensity: 0.8, domain: "nft", regime: "bull" });
    assert.deepEqual(await outbox(), []);
  });

  it("never queues what it applied from another instance (only own records go up)", async () => {
    const { pheromones, causal, lethe, outbox } = await setup();
    const head = { origin: D, domain: "defi", at: T };
    await pheromones.applyFederated({
      ...head,
      id: "r1",
      kind: "pheromone",
      pheromone: { layer: "threat", class: "rug", intensity: 0.8, regime: "bull", source: "a".repeat(24), hv: null },
    });
    const edge = { fromVariable: "a", toVariable: "b", direction: "positive", strength: "weak", lagTicks: 1, evidenceCount: 3 } as const;
    await causal.applyFederated({
      ...head,
      id: "r2",
      kind: "causal",
      causal: { ...edge, confidence: 0.7, regime: "bull", source: "a".repeat(24) },
    });
    const r: FederationRecord = {
      ...head,
      id: "r3",
      kind: "lethe",
      lethe: {
        category: "warning",
        content: "applied text",
        regime: null,
        confidence: 0.4,
        isBloodstain: false,
        source: "a".repeat(24),
        embedding: null,
      },
    };
    assert.equal(await lethe.applyFederated(r as Extract<FederationRecord, { kind: "lethe" }>), "published");
    assert.deepEqual(await outbox(), []);
  });

  it("queues a local causal publication, and a lethe publication with its published text, to the hour", async () => {
    const { causal, lethe, entries, clock, outbox } = await setup();
    await causal.publish(g1, {
      fromVariable: "gas",
      toVariable: "slippage",
      direction: "positive",
      strength: 0.7,
      lagTicks: 2,
      evidenceCount: 4,
      confidence: 0.8,
      domain: "defi",
      regime: "bull",
    });
    await entries.insert(entryFixture("e1"), candidateFixture("lth_1", { k: 1, delayMs: 0, createdAt: Date.UTC(2026, 0, 1, 12) }));
    clock.set(T + 60_000);
    assert.deepEqual(await lethe.publishDue(), { published: 1, reinforced: 0 });
    const records = await outbox();
    assert.deepEqual(
      records.map((r) => r.kind),
      ["causal", "lethe"],
    );
    const l = records[1];
    assert.equal(l?.id, "lth_1");
    assert.equal(l?.at, Date.UTC(2026, 0, 1, 12));
    assert.equal(l?.kind === "lethe" && l.lethe.content, "anonymized lth_1");
    assert.equal(l?.kind === "lethe" && l.lethe.source, outboundSource(TEST_SECRET_KEY, "src-a"));
  });
});
