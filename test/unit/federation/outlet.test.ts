import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import type { FederationLink } from "../../../src/core/federation/federation-store.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import { FederationEmitter, LINKS_CACHE_MS } from "../../../src/core/federation/outlet.js";
import { outboundSource } from "../../../src/core/federation/records.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemSourceHash } from "../../../src/core/platform/secret-key.js";
import { recordToWire } from "../../../src/protocol/federation-codec.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const ME = "sx_0123456789abcdef";
const g1 = aliveGolem("glm_7hq2x9kd0pz4", "usr_owner1");

function link(over: Partial<FederationLink> = {}): FederationLink {
  return {
    keyId: "key_down",
    userId: "usr_fed",
    instanceId: "sx_00000000000000dd",
    version: "test",
    flows: ["pheromone"],
    domains: ["defi"],
    embedDim: 384,
    helloAt: 0,
    lastSeenAt: 0,
    ...over,
  };
}

async function setup(opts: { upstream?: boolean; flows?: string; domains?: string } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12, 0, 42));
  const recorded = await recordingBus(clock);
  const store = new MemoryFederationStore();
  const outlet = new FederationEmitter({
    instanceId: ME,
    key: TEST_SECRET_KEY,
    flows: parseFlows(opts.flows ?? "pheromone"),
    domains: parseFederatedDomains(opts.domains ?? "defi"),
    upstream: opts.upstream ?? true,
    store,
    bus: recorded.bus,
    clock,
    wire: (r) => recordToWire(r) as unknown as Record<string, unknown>,
  });
  const pheromones = new PheromoneService({
    store: new SqlitePheromoneStore(openDatabase(":memory:")),
    bus: recorded.bus,
    clock,
    key: TEST_SECRET_KEY,
    pipeline: testPipeline(),
    federation: outlet,
  });
  return { clock, store, outlet, pheromones, ...recorded };
}

const fact = (domain = "defi", source = "c".repeat(24)) =>
  ({
    kind: "pheromone",
    id: "phe_local",
    domain,
    at: Date.UTC(2026, 2, 1, 12, 0, 42),
    pheromone: { layer: "threat", class: "rug", intensity: 0.8, regime: "bull", source, hv: null },
  }) as const;

describe("FederationEmitter.own", () => {
  it("makes a local fact this Styx's record: its origin, its time to the minute, its source re-hashed", async () => {
    const { outlet } = await setup();
    const own = outlet.own(fact());
    assert.ok(own);
    assert.equal(own.record.origin, ME);
    assert.equal(own.record.id, "phe_local");
    assert.equal(own.record.at, Date.UTC(2026, 2, 1, 12, 0));
    assert.equal(own.record.kind === "pheromone" && own.record.pheromone.source, outboundSource(TEST_SECRET_KEY, "c".repeat(24)));
    assert.notEqual(outboundSource(TEST_SECRET_KEY, "c".repeat(24)), "c".repeat(24));
    assert.deepEqual(own.outbox?.record, own.record);
  });

  it("queues for the upstream only a flow sent up, in a federated domain, with an upstream configured", async () => {
    assert.equal((await setup()).outlet.own(fact("nft"))?.outbox, undefined, "nft is not federated");
    assert.equal((await setup({ flows: "pheromone:down" })).outlet.own(fact())?.outbox, undefined, "pheromones only come down");
    assert.equal((await setup({ upstream: false })).outlet.own(fact())?.outbox, undefined, "no upstream");
    assert.ok((await setup({ domains: "*" })).outlet.own(fact("nft"))?.outbox);
  });

  it("never makes a record of a fact from another instance's source (only own records leave)", async () => {
    const { outlet } = await setup();
    assert.equal(outlet.own(fact("defi", `sx_00000000000000dd:${"a".repeat(24)}`)), undefined);
  });
});

describe("FederationEmitter.relay", () => {
  it("publishes nothing while no downstream is linked, then each local deposit on federation:{domain}", async () => {
    const { outlet, pheromones, store, on } = await setup({ upstream: false });
    await pheromones.deposit(g1, { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull" });
    assert.deepEqual(on("styx:federation:record"), [], "a standalone Styx appends nothing");
    await store.saveLink(link());
    outlet.linksChanged();
    await pheromones.deposit(g1, { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull" });
    const [event, ...rest] = on("styx:federation:record");
    assert.equal(rest.length, 0);
    assert.equal(event?.stream, "federation:defi");
    assert.equal(event?.payload.origin, ME);
    const wire = event?.payload.pheromone as { source: string };
    assert.equal(wire.source, outboundSource(TEST_SECRET_KEY, golemSourceHash(TEST_SECRET_KEY, g1.id)));
  });

  it("relays only the kinds and domains some link takes down", async () => {
    const { outlet, store, on } = await setup();
    await store.saveLink(link({ flows: ["pheromone:up", "lethe"], domains: ["defi"] }));
    outlet.linksChanged();
    const own = outlet.own(fact());
    assert.ok(own);
    await outlet.relay(own.record);
    assert.deepEqual(on("styx:federation:record"), [], "pheromones only go up from that link");
  });

  it("reads the links again after LINKS_CACHE_MS (a hello on another gateway)", async () => {
    const { clock, outlet, store, on } = await setup();
    const own = outlet.own(fact());
    assert.ok(own);
    await outlet.relay(own.record);
    await store.saveLink(link());
    await outlet.relay(own.record);
    assert.equal(on("styx:federation:record").length, 0, "cached: no link yet");
    clock.advance(LINKS_CACHE_MS + 1);
    await outlet.relay(own.record);
    assert.equal(on("styx:federation:record").length, 1);
  });
});
