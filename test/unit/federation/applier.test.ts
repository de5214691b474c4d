import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { CausalService } from "../../../src/core/coordination/causal-service.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import { FederationApplier } from "../../../src/core/federation/applier.js";
import type { FederationRecord } from "../../../src/core/federation/records.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const ME = "sx_0123456789abcdef";
const D = "sx_00000000000000dd";
const HOUR = 3_600_000;
const SOURCE = "a".repeat(24);

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  const recorded = await recordingBus(clock);
  const db = openDatabase(":memory:");
  const deps = { bus: recorded.bus, clock, key: TEST_SECRET_KEY, pipeline: testPipeline() };
  const pheromones = new PheromoneService({ store: new SqlitePheromoneStore(db), ...deps });
  const causal = new CausalService({ store: new SqliteCausalStore(db), ...deps });
  const store = new MemoryFederationStore();
  const relayed: FederationRecord[] = [];
  const lethe = {
    applyFederated: async () => {
      throw new Error("the lethe store is down");
    },
  };
  const warnings: string[] = [];
  const applier = new FederationApplier({
    instanceId: ME,
    store,
    pheromones,
    lethe,
    causal,
    outlet: { relay: async (r) => void relayed.push(r) },
    clock,
    warn: (msg) => warnings.push(msg),
  });
  return { clock, store, pheromones, applier, relayed, warnings, ...recorded };
}

function deposit(over: Partial<FederationRecord> = {}, intensity = 0.8): FederationRecord {
  return {
    origin: D,
    id: "rec-1",
    kind: "pheromone",
    domain: "defi",
    at: Date.UTC(2026, 2, 1, 12),
    pheromone: { layer: "threat", class: "rug", intensity, regime: "bull", source: SOURCE, hv: null },
    ...over,
  } as FederationRecord;
}

describe("FederationApplier", () => {
  it("deposits a record like a local deposit from origin:source, with a fresh id, announced as federated, then relays it", async () => {
    const { applier, pheromones, relayed, on } = await setup();
    assert.deepEqual(await applier.apply(deposit()), { outcome: "accepted" });
    const [sensed] = (await pheromones.sense(["defi"], undefined, 10))[0]?.pheromones ?? [];
    assert.equal(sensed?.pheromone.sourceHash, `${D}:${SOURCE}`);
    assert.notEqual(sensed?.pheromone.id, "rec-1", "a record's id never names a local row");
    assert.equal(on("styx:pheromone:deposit")[0]?.payload.federated, true);
    assert.deepEqual(
      relayed.map((r) => [r.origin, r.id]),
      [[D, "rec-1"]],
    );
  });

  it("applies an (origin, id) once: a repeat is a duplicate and changes nothing", async () => {
    const { applier, pheromones } = await setup();
    await applier.apply(deposit());
    assert.deepEqual(await applier.apply(deposit({}, 0.9)), { outcome: "duplicate" });
    const [sensed] = (await pheromones.sense(["defi"], undefined, 10))[0]?.pheromones ?? [];
    assert.equal(sensed?.pheromone.intensity, 0.8);
  });

  it("refuses a record of its own origin before claiming anything", async () => {
    const { applier, store } = await setup();
    assert.deepEqual(await applier.apply(deposit({ origin: ME })), { outcome: "rejected", code: "STYX_FEDERATION_ORIGIN" });
    assert.equal(await store.claim(ME, "rec-1", 0), true, "not claimed");
  });

  it("decays a deposit from its record time, and refuses one faded under the threshold (the claim released)", async () => {
    const { applier, pheromones, store } = await setup();
    const twoHoursOld = deposit({ id: "rec-2", at: Date.UTC(2026, 2, 1, 10) });
    assert.deepEqual(await applier.apply(twoHoursOld), { outcome: "accepted" });
    const [sensed] = (await pheromones.sense(["defi"], undefined, 10))[0]?.pheromones ?? [];
    assert.ok(Math.abs((sensed?.current ?? 0) - 0.4) < 1e-9, `one threat half-life later: ${sensed?.current}`);
    const faded = deposit({ id: "rec-3", at: Date.UTC(2026, 2, 1, 12) - 10 * HOUR });
    assert.deepEqual(await applier.apply(faded), { outcome: "rejected", code: "STYX_FEDERATION_STALE" });
    assert.equal(await store.claim(D, "rec-3", 0), true, "released: it may come again");
  });

  it("refuses a record timed more than a minute ahead as stale", async () => {
    const { applier } = await setup();
    const ahead = deposit({ at: Date.UTC(2026, 2, 1, 12, 2) });
    assert.deepEqual(await applier.apply(ahead), { outcome: "rejected", code: "STYX_FEDERATION_STALE" });
  });

  it("refuses a record whose public fields may not be published, with the pipeline's code", async () => {
    const { applier } = await setup();
    const r = deposit({}, 0.5);
    const bad = { ...r, pheromone: { ...(r as Extract<FederationRecord, { kind: "pheromone" }>).pheromone, regime: "Not A Token!" } };
    assert.deepEqual(await applier.apply(bad as FederationRecord), { outcome: "rejected", code: "STYX_NOT_PUBLISHABLE" });
  });

  it("releases the claim and throws when applying fails for another reason", async () => {
    const { applier, store } = await setup();
    const lethe = {
      origin: D,
      id: "rec-l",
      kind: "lethe",
      domain: "defi",
      at: Date.UTC(2026, 2, 1, 12),
      lethe: { category: "warning", content: "x", regime: null, confidence: 0.4, isBloodstain: false, source: SOURCE, embedding: null },
    } as FederationRecord;
    await assert.rejects(applier.apply(lethe), /the lethe store is down/);
    assert.equal(await store.claim(D, "rec-l", 0), true);
  });

  it("publishes a causal record once per origin:source publisher", async () => {
    const { applier, on } = await setup();
    const edge = (id: string, source: string) =>
      ({
        origin: D,
        id,
        kind: "causal",
        domain: "defi",
        at: Date.UTC(2026, 2, 1, 12),
        causal: {
          fromVariable: "lag",
          toVariable: "liq",
          direction: "positive",
          strength: "strong",
          lagTicks: 1,
          evidenceCount: 4,
          confidence: 0.7,
          regime: "bull",
          source,
        },
      }) as FederationRecord;
    await applier.apply(edge("c1", SOURCE));
    await applier.apply(edge("c2", SOURCE));
    await applier.apply(edge("c3", "b".repeat(24)));
    const events = on("styx:causal:published");
    assert.deepEqual(
      events.map((e) => [e.payload.outcome, e.payload.federated]),
      [
        ["created", true],
        ["validated", true],
      ],
    );
  });
});
