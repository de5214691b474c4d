import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { type DepositInput, PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import type { DepositOutcome } from "../../../src/core/coordination/pheromone-store.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemSourceHash } from "../../../src/core/platform/secret-key.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const HOUR = 3_600_000;
const g1 = aliveGolem("glm_7hq2x9kd0pz4", "usr_owner1");
const g2 = aliveGolem("glm_m3v8c1ra6tw5", "usr_owner2");

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  const recorded = await recordingBus(clock);
  const store = new SqlitePheromoneStore(openDatabase(":memory:"));
  const service = new PheromoneService({ store, bus: recorded.bus, clock, key: TEST_SECRET_KEY, pipeline: testPipeline() });
  return { clock, service, ...recorded };
}

function threat(over: Partial<DepositInput> = {}): DepositInput {
  return { layer: "threat", class: "rug", intensity: 0.8, domain: "defi", regime: "bull", ...over };
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe("PheromoneService.deposit", () => {
  it("stores the depositor only as its keyed source hash and announces the deposit on the domain stream without identity", async () => {
    const { service, events } = await setup();
    const out = await service.deposit(g1, threat());
    assert.equal(out.pheromone.sourceHash, golemSourceHash(TEST_SECRET_KEY, g1.id));
    assert.equal(service.sourceOf(g1.id), out.pheromone.sourceHash);
    assert.deepEqual(events, [
      {
        stream: "domain:defi",
        seq: 1,
        channel: "styx:pheromone:deposit",
        payload: { id: out.pheromone.id, layer: "threat", class: "rug", domain: "defi", regime: "bull", intensity: 0.8, confirmations: 0 },
      },
    ]);
    const stored = JSON.stringify((await service.sense(["defi"], undefined, 10))[0]);
    for (const id of [g1.id, g1.userId]) assert.ok(!stored.includes(id), `${id} is not in what sense answers`);
  });

  it("counts another golem's deposit as a confirmation and the same golem's again as a refresh, announcing each as reinforced", async () => {
    const { service, on } = await setup();
    const first = await service.deposit(g1, threat());
    const again = await service.deposit(g1, threat({ intensity: 0.9 }));
    const other = await service.deposit(g2, threat({ intensity: 0.2 }));
    assert.deepEqual(
      [again.reinforced, again.confirmed, other.reinforced, other.confirmed, other.pheromone.confirmations],
      [true, false, true, true, 1],
    );
    assert.equal(other.pheromone.id, first.pheromone.id);
    assert.deepEqual(
      on("styx:pheromone:reinforced").map((e) => e.payload.confirmations),
      [0, 1],
    );
    assert.equal(on("styx:pheromone:deposit").length, 1);
  });

  it("normalizes public fields and refuses one holding an identifier (STYX_NOT_PUBLISHABLE), storing and announcing nothing", async () => {
    const { service, events } = await setup();
    const out = await service.deposit(g1, threat({ class: "Rug", domain: "DeFi", regime: "BULL" }));
    assert.deepEqual([out.pheromone.class, out.pheromone.domain, out.pheromone.regime], ["rug", "defi", "bull"]);
    for (const [field, path] of [
      ["class", "/class"],
      ["domain", "/domain"],
      ["regime", "/regime"],
    ] as const) {
      await assert.rejects(service.deposit(g1, threat({ [field]: g1.id })), (err: { code?: string; details?: { path: string }[] }) => {
        assert.equal(err.code, "STYX_NOT_PUBLISHABLE");
        assert.deepEqual(err.details, [{ path }]);
        return true;
      });
    }
    assert.equal(await service.countActive(), 1, "only the first deposit");
    assert.equal(events.length, 1);
  });

  it("keeps only the allow-listed public metadata", async () => {
    const { service } = await setup();
    const out = await service.deposit(
      g1,
      threat({ metadata: { tags: ["rug", g1.id, "exit"], asset: "eth", amount: 12_000, note: "sold at 3", bloodstain: true } }),
    );
    assert.deepEqual(out.pheromone.metadata, { tags: ["rug", "exit"], asset: "eth", bloodstain: true });
  });

  it("tells each deposit listener the golem and the outcome, after the announcement", async () => {
    const { service, events } = await setup();
    const heard: [string, DepositOutcome, number][] = [];
    service.onDeposit((golem: Golem, outcome) => {
      heard.push([golem.id, outcome, events.length]);
    });
    const out = await service.deposit(g2, threat());
    assert.deepEqual(heard, [[g2.id, out, 1]]);
  });
});

describe("PheromoneService.sense", () => {
  it("decays a threat to half after its 2 h half-life, and forgets it once under 0.05", async () => {
    const { service, clock } = await setup();
    await service.deposit(g1, threat({ intensity: 0.8 }));
    clock.advance(2 * HOUR);
    const [half] = await service.sense(["defi"], undefined, 10);
    assert.ok(close(half?.threat ?? 0, 0.4), `threat level ${half?.threat}`);
    assert.equal(half?.pheromones[0]?.halfLifeMs, 2 * HOUR);
    // 0.8 → 0.05 takes four half-lives.
    clock.advance(6 * HOUR - 1);
    assert.equal((await service.sense(["defi"], undefined, 10))[0]?.live, 1);
    clock.advance(1);
    assert.deepEqual(await service.sense(["defi"], undefined, 10), [
      { domain: "defi", threat: 0, opportunity: 0, wisdom: 0, pheromones: [], live: 0 },
    ]);
  });

  it("slows decay by half a half-life per confirmation", async () => {
    const { service, clock } = await setup();
    await service.deposit(g1, threat({ intensity: 0.8 }));
    await service.deposit(g2, threat({ intensity: 0.8 }));
    clock.advance(3 * HOUR);
    const [d] = await service.sense(["defi"], undefined, 10);
    assert.equal(d?.pheromones[0]?.halfLifeMs, 3 * HOUR, "2 h × (1 + 0.5 × 1)");
    assert.ok(close(d?.threat ?? 0, 0.4));
  });

  it("answers per domain its strongest live pheromones first, at most `limit`, each layer's level, and the regime filter", async () => {
    const { service } = await setup();
    await service.deposit(g1, threat({ class: "a", intensity: 0.3 }));
    await service.deposit(g1, threat({ class: "b", intensity: 0.9 }));
    await service.deposit(g1, threat({ layer: "wisdom", class: "c", intensity: 0.5 }));
    await service.deposit(g1, threat({ layer: "opportunity", class: "d", intensity: 0.7, regime: "bear" }));
    await service.deposit(g1, threat({ domain: "lend", intensity: 0.6 }));
    const [defi, lend, empty] = await service.sense(["defi", "lend", "nft"], undefined, 2);
    assert.deepEqual(
      defi?.pheromones.map((p) => p.pheromone.class),
      ["b", "d"],
    );
    assert.deepEqual([defi?.threat, defi?.opportunity, defi?.wisdom, defi?.live], [0.9, 0.7, 0.5, 4]);
    assert.deepEqual([lend?.domain, lend?.threat, lend?.live], ["lend", 0.6, 1]);
    assert.deepEqual(empty, { domain: "nft", threat: 0, opportunity: 0, wisdom: 0, pheromones: [], live: 0 });
    const [bull] = await service.sense(["defi"], "bull", 10);
    assert.deepEqual([bull?.opportunity, bull?.live], [0, 3]);
  });
});

describe("PheromoneService field, evaporation and count", () => {
  it("maps the strongest domains as one cell per layer, in layer order", async () => {
    const { service } = await setup();
    await service.deposit(g1, threat({ domain: "weak", intensity: 0.2 }));
    await service.deposit(g1, threat({ domain: "strong", intensity: 0.9 }));
    await service.deposit(g1, threat({ domain: "strong", layer: "wisdom", class: "w", intensity: 0.4 }));
    await service.deposit(g1, threat({ domain: "mid", intensity: 0.5 }));
    const cells = await service.field(2);
    assert.deepEqual(
      cells.map((c) => [c.domain, c.layer, c.level, c.live]),
      [
        ["strong", "threat", 0.9, 1],
        ["strong", "opportunity", 0, 0],
        ["strong", "wisdom", 0.4, 1],
        ["mid", "threat", 0.5, 1],
        ["mid", "opportunity", 0, 0],
        ["mid", "wisdom", 0, 0],
      ],
    );
  });

  it("evaporates what decayed under the threshold and counts only what lives", async () => {
    const { service, clock } = await setup();
    await service.deposit(g1, threat({ class: "short", intensity: 0.1 }));
    await service.deposit(g1, threat({ layer: "wisdom", class: "long", intensity: 0.1 }));
    assert.equal(await service.countActive(), 2);
    clock.advance(2 * HOUR);
    assert.equal(await service.countActive(), 1, "the threat faded after one half-life");
    assert.equal(await service.evaporate(), 1);
    assert.equal(await service.evaporate(), 0);
    assert.equal(await service.countActive(), 1, "wisdom lives 7 days");
  });
});
