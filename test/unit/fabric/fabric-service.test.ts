import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCladeStore } from "../../../src/adapters/sqlite/sqlite-clade-store.js";
import { CLADE_DELTA_TTL_MS, CLADE_OUTBOX_MAX } from "../../../src/core/fabric/clade.js";
import { FabricService, type Heartbeat } from "../../../src/core/fabric/fabric-service.js";
import { PRESENCE_FORGET_MS, PRESENCE_ONLINE_MS } from "../../../src/core/fabric/presence.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { aliveGolem, recordingBus } from "../../../src/testing/core-kit.js";

const a = aliveGolem("ga", "u1");
const b = aliveGolem("gb", "u1");
const c = aliveGolem("gc", "u1");
const stranger = aliveGolem("gx", "u2");

/** A fabric service over the micronode's bus, presence and clade store; `online` is the set of golems with a live socket. */
async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 7, 1));
  const db = openDatabase(":memory:");
  const recorded = await recordingBus(clock, db);
  const online = new Set<string>();
  const service = new FabricService({
    bus: recorded.bus,
    presence: new MemoryPresence(),
    clade: new SqliteCladeStore(db),
    clock,
    online: (id) => online.has(id),
  });
  return { clock, online, service, ...recorded };
}

function beat(over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    phase: "thriving",
    vitality: 0.7,
    pad: { pleasure: 0.2, arousal: 0.4, dominance: 0 },
    emotion: "calm",
    regime: "bull",
    tick: 10,
    domains: ["perps"],
    dreaming: false,
    nav: 100,
    ...over,
  };
}

/** Orders [stream, …] rows by stream, keeping each stream's own order. */
const byStream = (x: unknown[], y: unknown[]) => String(x[0]).localeCompare(String(y[0]));

describe("FabricService events and steering", () => {
  it("relays a golem's event on its owner's stream, its type as the channel and the golem named in the payload", async () => {
    const { service, events } = await setup();
    const e = await service.relay(a, { type: "golem:trade", pair: "eth-usdc", golem_id: "spoofed" });
    assert.deepEqual([e.stream, e.seq, e.channel], ["user:u1", 1, "golem:trade"]);
    assert.deepEqual(events[0]?.payload, { pair: "eth-usdc", golem_id: "ga" }, "the relay names the golem, not the client");
  });

  it("publishes a steer on the owner's stream and the golem's own, and says whether the golem has a live socket", async () => {
    const { service, online, on } = await setup();
    assert.equal((await service.steer(a, "hold", "high")).delivered, false);
    online.add("ga");
    const r = await service.steer(a, "exit", "low");
    assert.equal(r.delivered, true);
    assert.deepEqual(
      on("styx:steer")
        .map((e) => [e.stream, e.payload])
        .sort(byStream),
      [
        ["user:u1", { golem_id: "ga", intent: "hold", severity: "high" }],
        ["golem:ga", { golem_id: "ga", intent: "hold", severity: "high" }],
        ["user:u1", { golem_id: "ga", intent: "exit", severity: "low" }],
        ["golem:ga", { golem_id: "ga", intent: "exit", severity: "low" }],
      ].sort(byStream),
    );
  });
});

describe("FabricService presence", () => {
  it("keeps a heartbeat as the golem's snapshot, stamped with the clock and the golem's archetype, generation and birth, and tells heartbeat listeners", async () => {
    const { service, clock } = await setup();
    const heard: string[] = [];
    service.onHeartbeat((g, hb) => heard.push(`${g.id}@${hb.tick}`));
    await service.heartbeat(a, beat());
    assert.deepEqual(await service.snapshot("ga"), {
      ...beat(),
      golemId: "ga",
      userId: "u1",
      lastSeen: clock.now(),
      archetype: a.archetype,
      generation: a.generation,
      bornAt: a.createdAt,
    });
    assert.equal(await service.snapshot("gb"), undefined);
    assert.deepEqual(heard, ["ga@10"]);
  });

  it("counts a golem as active for a minute after its heartbeat", async () => {
    const { service, clock } = await setup();
    await service.heartbeat(a, beat());
    await service.heartbeat(stranger, beat());
    clock.advance(PRESENCE_ONLINE_MS - 1);
    assert.deepEqual((await service.active()).map((p) => p.golemId).sort(), ["ga", "gx"], "every user's golems");
    clock.advance(2);
    assert.deepEqual(await service.active(), []);
  });

  it("shows a user's fleet in golem id order, never another user's, and aggregates only the online ones", async () => {
    const { service, clock } = await setup();
    await service.heartbeat(b, beat({ vitality: 0.2, regime: "bear", tick: 50 }));
    clock.advance(PRESENCE_ONLINE_MS);
    await service.heartbeat(a, beat({ vitality: 0.8, dreaming: true }));
    await service.heartbeat(stranger, beat());
    assert.deepEqual(
      (await service.fleet("u1")).map((p) => p.golemId),
      ["ga", "gb"],
    );
    const agg = await service.aggregate("u1");
    assert.deepEqual(
      [agg.golems, agg.online, agg.dreaming, agg.meanVitality, agg.byRegime, agg.maxTick],
      [2, 1, 1, 0.8, new Map([["bull", 1]]), 10],
      "gb's beat is a minute old: offline",
    );
  });

  it("forgets presence silent for a day, and keeps the rest", async () => {
    const { service, clock } = await setup();
    await service.heartbeat(a, beat());
    clock.advance(PRESENCE_FORGET_MS - 1000);
    await service.heartbeat(b, beat());
    clock.advance(1001);
    assert.deepEqual(await service.expire(), { deltas: 0, presence: 1 });
    assert.deepEqual(
      (await service.fleet("u1")).map((p) => p.golemId),
      ["gb"],
    );
  });
});

describe("FabricService clade", () => {
  it("registers a golem with its domains once each, and lists the user's peers with their liveness", async () => {
    const { service, online, clock } = await setup();
    const peer = await service.register(a, ["perps", "lend", "perps"]);
    assert.deepEqual(peer, { golemId: "ga", userId: "u1", domains: ["perps", "lend"], registeredAt: clock.now(), online: false });
    clock.advance(1000);
    await service.register(b, []);
    await service.register(stranger, ["x"]);
    online.add("gb");
    const again = await service.register(a, ["nft"]);
    assert.deepEqual([again.domains, again.registeredAt], [["nft"], clock.now() - 1000], "a re-registration keeps its place");
    assert.deepEqual(
      (await service.peers("u1")).map((p) => [p.golemId, p.online]),
      [
        ["ga", false],
        ["gb", true],
      ],
    );
  });

  it("delivers a delta to online siblings at once and holds it for offline ones, who get it once on reconnect", async () => {
    const { service, online, on } = await setup();
    for (const g of [a, b, c, stranger]) await service.register(g, []);
    online.add("gb");
    const r = await service.cladeDelta(a, [{ id: "e1", content: "funding flips" }]);
    assert.deepEqual([r.delivered, r.stored, r.dropped], [1, 1, 0], "gb online, gc held; not the sender, not another user's golem");
    assert.deepEqual(on("styx:clade:delta")[0]?.payload, { golem_id: "ga", entries: [{ id: "e1", content: "funding flips" }] });
    // Held as the copy published on gc's own stream (golem:gc), so its welcome can replay it in order.
    assert.deepEqual(
      (await service.pendingDeltas("gc")).map((e) => [e.stream, e.channel, e.payloadJson]),
      [["golem:gc", "styx:clade:delta", r.event.payloadJson]],
    );
    assert.deepEqual(await service.pendingDeltas("gc"), [], "handed out once");
    assert.deepEqual(await service.pendingDeltas("gb"), [], "an online sibling had it live");
    assert.deepEqual(await service.pendingDeltas("gx"), []);
  });

  it("lets a held delta expire after 7 days", async () => {
    const { service, clock } = await setup();
    await service.register(a, []);
    await service.register(b, []);
    await service.cladeDelta(a, [{ n: 1 }]);
    await service.cladeDelta(a, [{ n: 2 }]);
    clock.advance(CLADE_DELTA_TTL_MS - 1);
    assert.equal((await service.pendingDeltas("gb", 1)).length, 1, "still held a moment before");
    clock.advance(1);
    assert.deepEqual(await service.pendingDeltas("gb"), []);
    assert.deepEqual(await service.expire(), { deltas: 1, presence: 0 });
  });

  it("keeps at most 1,000 deltas for an offline sibling, dropping the oldest and reporting how many", async () => {
    const { service } = await setup();
    await service.register(a, []);
    await service.register(b, []);
    const dropped: number[] = [];
    service.onDropped = (n) => dropped.push(n);
    let last = { dropped: 0 };
    for (let i = 0; i < CLADE_OUTBOX_MAX + 2; i++) last = await service.cladeDelta(a, [{ i }]);
    assert.equal(last.dropped, 1);
    assert.deepEqual(dropped, [1, 1]);
    const held = await service.pendingDeltas("gb", 5);
    assert.deepEqual(
      held.map((e) => (JSON.parse(e.payloadJson) as { entries: { i: number }[] }).entries[0]?.i),
      [2, 3, 4, 5, 6],
      "the two oldest went",
    );
  });
});
