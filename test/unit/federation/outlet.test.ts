import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import type { FederationLink } from "../../../src/core/federation/federation-store.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import { FederationEmitter, LINKS_CACHE_MS } from "../../../src/core/federation/outlet.js";
import { type FederationRecord, outboundSource } from "../../../src/core/federation/records.js";
import { RecordRelay } from "../../../src/core/federation/relay.js";
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
  // One database, as a Styx has: the fact stores write the relay outbox the federation store reads.
  const db = openDatabase(":memory:");
  const store = new SqliteFederationStore(db);
  const warnings: string[] = [];
  let wakes = 0;
  const wire = (r: FederationRecord) => recordToWire(r) as unknown as Record<string, unknown>;
  const outlet = new FederationEmitter({
    instanceId: ME,
    key: TEST_SECRET_KEY,
    flows: parseFlows(opts.flows ?? "pheromone"),
    domains: parseFederatedDomains(opts.domains ?? "defi"),
    upstream: opts.upstream ?? true,
    store,
    bus: recorded.bus,
    clock,
    wire,
    wake: () => wakes++,
    warn: (msg) => warnings.push(msg),
  });
  const pheromones = new PheromoneService({
    store: new SqlitePheromoneStore(db),
    bus: recorded.bus,
    clock,
    key: TEST_SECRET_KEY,
    pipeline: testPipeline(),
    federation: outlet,
  });
  const relay = new RecordRelay({ store, bus: recorded.bus, wire });
  return { clock, store, outlet, pheromones, relay, warnings, wakes: () => wakes, ...recorded };
}

const fact = (domain = "defi", source = "c".repeat(24)) =>
  ({
    kind: "pheromone",
    id: "phe_local",
    domain,
    at: Date.UTC(2026, 2, 1, 12, 0, 42),
    pheromone: { layer: "threat", class: "rug", intensity: 0.8, regime: "bull", source, hv: null },
  }) as const;

const deposit = { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull" } as const;

describe("FederationEmitter.own", () => {
  it("makes a local fact this Styx's record: its origin, its time to the minute, its source re-hashed", async () => {
    const { outlet } = await setup();
    const own = await outlet.own(fact());
    assert.ok(own);
    assert.equal(own.record.origin, ME);
    assert.equal(own.record.id, "phe_local");
    assert.equal(own.record.at, Date.UTC(2026, 2, 1, 12, 0));
    assert.equal(own.record.kind === "pheromone" && own.record.pheromone.source, outboundSource(TEST_SECRET_KEY, "c".repeat(24)));
    assert.notEqual(outboundSource(TEST_SECRET_KEY, "c".repeat(24)), "c".repeat(24));
    assert.deepEqual(own.outbox?.record, own.record);
    assert.deepEqual([own.outbox?.up, own.outbox?.down], [true, false], "no downstream: up only");
  });

  it("queues for the upstream only a flow sent up, in a federated domain, with an upstream configured", async () => {
    assert.equal((await (await setup()).outlet.own(fact("nft")))?.outbox, undefined, "nft is not federated");
    assert.equal((await (await setup({ flows: "pheromone:down" })).outlet.own(fact()))?.outbox, undefined, "pheromones only come down");
    assert.equal((await (await setup({ upstream: false })).outlet.own(fact()))?.outbox, undefined, "no upstream");
    assert.ok((await (await setup({ domains: "*" })).outlet.own(fact("nft")))?.outbox?.up);
  });

  it("makes no record at all of a fact that does not leave (a standalone Styx: no hash, no copies per deposit)", async () => {
    assert.equal(await (await setup({ upstream: false })).outlet.own(fact()), undefined, "no upstream, no downstream link");
    assert.equal(await (await setup()).outlet.own(fact("nft")), undefined, "a domain not federated");
  });

  it("marks a record for the relay outbox only while a downstream link takes its kind and domain", async () => {
    const { outlet, store } = await setup({ upstream: false });
    await store.saveLink(link({ flows: ["pheromone:up", "lethe"], domains: ["defi"] }));
    outlet.linksChanged();
    assert.equal((await outlet.own(fact()))?.outbox, undefined, "pheromones only go up from that link");
    await store.saveLink(link({ keyId: "key_other", flows: ["pheromone"], domains: ["nft"] }));
    outlet.linksChanged();
    assert.equal((await outlet.own(fact()))?.outbox, undefined, "the other link takes nft");
    assert.deepEqual(
      [(await outlet.own(fact("nft")))?.outbox?.up, (await outlet.own(fact("nft")))?.outbox?.down],
      [false, true],
      "nft goes down (not up: no upstream)",
    );
  });

  it("never makes a record of a fact from another instance's source (only own records leave)", async () => {
    const { outlet } = await setup();
    assert.equal(await outlet.own(fact("defi", `sx_00000000000000dd:${"a".repeat(24)}`)), undefined);
  });
});

describe("own records relayed to the downstreams (SPEC §17.2 down)", () => {
  it("writes nothing and appends nothing while no downstream is linked, then each local deposit into the relay outbox", async () => {
    const { outlet, pheromones, store, relay, on, wakes } = await setup({ upstream: false });
    await pheromones.deposit(g1, deposit);
    assert.equal(await store.relayDepth(), 0, "a standalone Styx writes no relay row");
    assert.equal(wakes(), 0);
    assert.equal(await relay.drain(), 0);
    assert.deepEqual(on("styx:federation:record"), [], "and appends nothing");
    await store.saveLink(link());
    outlet.linksChanged();
    await pheromones.deposit(g1, deposit);
    assert.equal(await store.relayDepth(), 1, "written with the deposit");
    assert.equal(wakes(), 1, "the relay woken after the commit");
    assert.deepEqual(on("styx:federation:record"), [], "published by the relay, not by the request");
    assert.equal(await relay.drain(), 1);
    const [event, ...rest] = on("styx:federation:record");
    assert.equal(rest.length, 0);
    assert.equal(event?.stream, "federation:defi");
    assert.equal(event?.payload.origin, ME);
    const wire = event?.payload.pheromone as { source: string };
    assert.equal(wire.source, outboundSource(TEST_SECRET_KEY, golemSourceHash(TEST_SECRET_KEY, g1.id)));
    assert.equal(await store.relayDepth(), 0);
  });

  it("reads the links again after LINKS_CACHE_MS (a hello on another gateway)", async () => {
    const { clock, outlet, store } = await setup();
    assert.equal((await outlet.own(fact()))?.outbox?.down, false);
    await store.saveLink(link());
    assert.equal((await outlet.own(fact()))?.outbox?.down, false, "cached: no link yet");
    assert.equal(await outlet.hasDownstreams(), false);
    clock.advance(LINKS_CACHE_MS + 1);
    assert.equal((await outlet.own(fact()))?.outbox?.down, true);
    assert.equal(await outlet.hasDownstreams(), true);
  });

  it("reports a failed read of the links and never fails the deposit it follows (its record is then not relayed)", async () => {
    const { outlet, pheromones, store, warnings } = await setup();
    store.links = async () => {
      throw new Error("the database is down");
    };
    outlet.linksChanged();
    const out = await pheromones.deposit(g1, deposit);
    assert.equal(out.reinforced, false);
    assert.deepEqual(warnings, ["reading the downstream links failed: a record is not relayed to the downstreams"]);
    assert.equal(await store.relayDepth(), 0);
  });
});

describe("FederationEmitter.relay (a record applied from another instance)", () => {
  it("publishes only the kinds and domains some link takes down, with the record's own origin", async () => {
    const { outlet, store, on } = await setup();
    await store.saveLink(link({ flows: ["pheromone:up", "lethe"], domains: ["defi"] }));
    outlet.linksChanged();
    const other = { ...fact(), origin: "sx_00000000000000ee" } as FederationRecord;
    await outlet.relay(other);
    assert.deepEqual(on("styx:federation:record"), [], "pheromones only go up from that link");
    await store.saveLink(link({ keyId: "key_2" }));
    outlet.linksChanged();
    await outlet.relay(other);
    assert.deepEqual(
      on("styx:federation:record").map((e) => e.payload.origin),
      ["sx_00000000000000ee"],
    );
  });
});
