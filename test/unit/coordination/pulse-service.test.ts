import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { MemoryPulseStore } from "../../../src/adapters/memory/memory-pulse-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import type { PheromoneDeposit } from "../../../src/core/coordination/pheromone-store.js";
import { PulseService, pulseJson } from "../../../src/core/coordination/pulse-service.js";
import { type GolemPresence, PRESENCE_ONLINE_MS } from "../../../src/core/fabric/presence.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemFixture, userFixture } from "../../../src/testing/contracts/identity-store.contract.js";
import { recordingBus, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const HOUR = 3_600_000;
const SECRET_GOLEM = "glm_p7x2k9q4m1z8";

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 6, 1, 12));
  const db = openDatabase(":memory:");
  const identity = new SqliteIdentityStore(db);
  const pheromones = new SqlitePheromoneStore(db);
  const deaths = new SqliteDeathStore(db, { entries: new SqliteEntryStore(db), pheromones });
  const presence = new MemoryPresence();
  const store = new MemoryPulseStore();
  const recorded = await recordingBus(clock);
  const pipeline = testPipeline();
  // The directory knows the golems' ids, as the identifier feed makes it in a server.
  pipeline.remember([{ kind: "golem", value: SECRET_GOLEM, userId: "u1" }]);
  const service = new PulseService({
    presence: () => presence.activeSince(clock.now() - PRESENCE_ONLINE_MS),
    deaths,
    pheromones,
    store,
    bus: recorded.bus,
    clock,
    pipeline,
  });
  await identity.createUser(userFixture("u1"));
  /** A death of a new golem at `diedAt`, with no effects. */
  const die = async (golemId: string, diedAt: number) => {
    await identity.createGolem(golemFixture(golemId, "u1", { status: "alive" }));
    const death = {
      golemId,
      userId: "u1",
      generation: 0,
      deathCause: "starved",
      diedAt,
      recordedAt: clock.now(),
      ticksLived: 1,
      warnings: 0,
      causalEdges: 0,
      testamentExcerpt: null,
      somaticFragment: null,
      signed: false,
      bornAt: null,
      finalPhase: null,
      finalPad: null,
      finalNav: null,
      domains: [],
    };
    await deaths.record(death, { entries: [], deposits: [] }, clock.now(), () => ({
      golemId,
      diedAt,
      entryIds: [],
      pheromoneIds: [],
      letheQueued: 0,
    }));
  };
  const beat = (golemId: string, over: Partial<GolemPresence> = {}) =>
    presence.beat({
      golemId,
      userId: "u1",
      phase: "thriving",
      vitality: 0.5,
      pad: null,
      emotion: null,
      regime: "bull",
      tick: 1,
      domains: [],
      dreaming: false,
      nav: null,
      lastSeen: clock.now(),
      archetype: null,
      generation: 0,
      bornAt: null,
      ...over,
    });
  const deposit = (over: Partial<PheromoneDeposit>) =>
    pheromones.deposit(
      {
        id: `phe_${Math.random().toString(36).slice(2)}`,
        layer: "threat",
        class: "rug",
        domain: "defi",
        regime: "bull",
        intensity: 0.8,
        sourceHash: "s",
        metadata: {},
        hv: null,
        ...over,
      },
      clock.now(),
    );
  /** A second process of the same Styx: its own service over the same stores (a follower gateway). */
  const follower = (over: Partial<ConstructorParameters<typeof PulseService>[0]> = {}) =>
    new PulseService({
      presence: () => presence.activeSince(clock.now() - PRESENCE_ONLINE_MS),
      deaths,
      pheromones,
      store,
      bus: recorded.bus,
      clock,
      pipeline,
      ...over,
    });
  return { clock, service, die, beat, deposit, store, follower, ...recorded };
}

describe("PulseService", () => {
  it("counts the golems heard from in the last minute, deaths in all and in the last 24 h", async () => {
    const { service, clock, die, beat } = await setup();
    await die("gold", clock.now() - 25 * HOUR);
    await die("gnew", clock.now() - HOUR);
    await beat("g1", { lastSeen: clock.now() - PRESENCE_ONLINE_MS - 1 });
    await beat("g2", { lastSeen: clock.now() - 1000 });
    await beat("g3");
    const p = await service.refresh(false);
    assert.deepEqual([p.activeGolems, p.deadTotal, p.deaths24h, p.computedAt], [2, 2, 1, clock.now()]);
  });

  it("sums each layer's live pheromones at their current, decayed intensity and ranks the top domains", async () => {
    const { service, clock, deposit } = await setup();
    await deposit({ intensity: 0.8 });
    await deposit({ layer: "wisdom", class: "w", intensity: 0.5 });
    await deposit({ domain: "lend", class: "x", intensity: 0.4 });
    await deposit({ domain: "lend", class: "y", intensity: 0.4 });
    await deposit({ domain: "nft", class: "z", intensity: 0.1 });
    clock.advance(2 * HOUR);
    const p = await service.refresh(false);
    assert.equal(p.pheromones.threat.live, 3, "the 0.1 threat faded after one half-life");
    assert.ok(Math.abs(p.pheromones.threat.intensity - (0.4 + 0.2 + 0.2)) < 1e-9, `threat ${p.pheromones.threat.intensity}`);
    assert.equal(p.pheromones.wisdom.live, 1);
    assert.deepEqual(p.pheromones.opportunity, { live: 0, intensity: 0 });
    assert.deepEqual(p.topDomains, [
      { domain: "defi", pheromones: 2 },
      { domain: "lend", pheromones: 2 },
    ]);
  });

  it("counts only publishable regimes of the active golems, and averages the PAD of those that report one", async () => {
    const { service, beat } = await setup();
    await beat("g1", { regime: "bull", pad: { pleasure: 1, arousal: 0, dominance: -1 } });
    await beat("g2", { regime: "BULL", pad: { pleasure: 0, arousal: 0.5, dominance: 0 } });
    await beat("g3", { regime: SECRET_GOLEM, pad: null });
    await beat("g4", { regime: null });
    const p = await service.refresh(false);
    assert.deepEqual(p.regimes, new Map([["bull", 2]]), "a golem's id is not a regime anyone sees");
    assert.deepEqual(p.meanPad, { pleasure: 0.5, arousal: 0.25, dominance: -0.5 });
  });

  it("serves the last computed pulse until the next refresh, which announces it on the public stream", async () => {
    const { service, clock, beat, on } = await setup();
    const first = await service.current();
    assert.equal(first.activeGolems, 0);
    await beat("g1");
    clock.advance(1000);
    assert.deepEqual(await service.current(), first, "cached");
    assert.deepEqual(on("styx:pulse"), [], "current() announces nothing");
    const second = await service.refresh();
    assert.equal(second.activeGolems, 1);
    assert.deepEqual(await service.current(), second);
    assert.deepEqual(
      on("styx:pulse").map((e) => [e.stream, e.payload]),
      [["public", JSON.parse(JSON.stringify(pulseJson(second)))]],
    );
  });

  it("serves on every process the pulse the task stored, read again at most once a second", async () => {
    const { service, follower, clock, beat } = await setup();
    const other = follower();
    const first = await service.refresh(false);
    assert.deepEqual(await other.current(), first, "the leader's pulse, not one of its own");
    await beat("g1");
    clock.advance(10_000);
    const second = await service.refresh(false);
    assert.equal(second.activeGolems, 1);
    assert.deepEqual(await other.current(), second, "fresh after the leader's next refresh");
    await service.refresh(false);
    clock.advance(500);
    assert.deepEqual(await other.current(), second, "not read again within a second");
  });

  it("recomputes a stored pulse the task left stale, and serves its own while the store fails", async () => {
    const { service, follower, clock, beat } = await setup();
    await service.refresh(false);
    clock.advance(150_001);
    await beat("g1");
    await beat("g2");
    const other = follower();
    const own = await other.current();
    assert.equal(own.computedAt, clock.now(), "older than 150 s: computed here");
    assert.equal(own.activeGolems, 2);
    const warned: string[] = [];
    const broken = follower({
      store: { latest: () => Promise.reject(new Error("down")), put: () => Promise.reject(new Error("down")) },
      warn: (msg) => warned.push(msg),
    });
    assert.equal((await broken.current()).activeGolems, 2);
    assert.equal(warned.length, 2, "the failed read and the failed write are reported");
  });
});
