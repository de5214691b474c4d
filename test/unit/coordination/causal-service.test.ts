import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteCausalStore } from "../../../src/adapters/sqlite/sqlite-causal-store.js";
import type { CausalEdge, PublishOutcome } from "../../../src/core/coordination/causal.js";
import { CausalService, type PublishInput } from "../../../src/core/coordination/causal-service.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemSourceHash } from "../../../src/core/platform/secret-key.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const g1 = aliveGolem("glm_c1aa7x0k", "usr_c1");
const g2 = aliveGolem("glm_c2bb8y1m", "usr_c2");
const g3 = aliveGolem("glm_c3cc9z2n", "usr_c3");

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 3, 1));
  const recorded = await recordingBus(clock);
  const service = new CausalService({
    store: new SqliteCausalStore(openDatabase(":memory:")),
    bus: recorded.bus,
    clock,
    key: TEST_SECRET_KEY,
    pipeline: testPipeline(),
  });
  return { clock, service, recorded };
}

function edge(over: Partial<PublishInput> = {}): PublishInput {
  return {
    fromVariable: "funding_rate",
    toVariable: "liquidations",
    direction: "positive",
    strength: 0.7,
    lagTicks: 3,
    evidenceCount: 12,
    confidence: 0.8,
    domain: "perps",
    regime: "bull",
    ...over,
  };
}

describe("CausalService.publish", () => {
  it("stores the strength only as its bucket, each boundary in the upper one", async () => {
    const { service } = await setup();
    const cases: [number, string][] = [
      [0.29, "weak"],
      [0.3, "moderate"],
      [0.59, "moderate"],
      [0.6, "strong"],
      [0.85, "dominant"],
    ];
    for (const [i, [strength, bucket]] of cases.entries()) {
      const { edge: e } = await service.publish(g1, edge({ strength, toVariable: `v${i}` }));
      assert.equal(e.strength, bucket, `${strength}`);
    }
  });

  it("keeps the publisher only as its keyed source hash, and stamps the edge with the clock", async () => {
    const { service, clock } = await setup();
    const { edge: e, outcome } = await service.publish(g1, edge());
    assert.equal(outcome, "created");
    assert.equal(e.publisherHash, golemSourceHash(TEST_SECRET_KEY, g1.id));
    assert.ok(!JSON.stringify(e).includes(g1.id) && !JSON.stringify(e).includes(g1.userId), "no id in the stored edge");
    assert.deepEqual([e.createdAt, e.updatedAt], [clock.now(), clock.now()]);
  });

  it("counts each other golem once: agreement validates, disagreement contradicts, a repeat changes nothing", async () => {
    const { service } = await setup();
    await service.publish(g1, edge());
    const outcomes: PublishOutcome[] = [];
    for (const [golem, direction] of [
      [g2, "positive"],
      [g2, "positive"],
      [g3, "negative"],
      [g1, "negative"],
    ] as const) {
      outcomes.push((await service.publish(golem, edge({ direction }))).outcome);
    }
    assert.deepEqual(outcomes, ["validated", "unchanged", "contradicted", "unchanged"]);
    const [found] = await service.discover({ minValidations: 0, limit: 5 });
    assert.deepEqual([found?.validations, found?.contradictions, found?.direction], [1, 1, "positive"]);
  });

  it("announces each change of an edge as styx:causal:published on its domain's stream, without the publisher; a repeat announces nothing", async () => {
    const { service, recorded, clock } = await setup();
    clock.advance(42_000);
    await service.publish(g1, edge());
    await service.publish(g2, edge());
    await service.publish(g2, edge());
    await service.publish(g3, edge({ direction: "negative" }));
    const events = recorded.on("styx:causal:published");
    assert.deepEqual(
      events.map((e) => [e.stream, e.payload.outcome, e.payload.validations, e.payload.contradictions]),
      [
        ["domain:perps", "created", 0, 0],
        ["domain:perps", "validated", 1, 0],
        ["domain:perps", "contradicted", 1, 1],
      ],
    );
    const first = events[0]?.payload ?? {};
    assert.deepEqual(
      [first.from_variable, first.to_variable, first.strength, first.domain, first.regime, first.created_at],
      ["funding_rate", "liquidations", "strong", "perps", "bull", "2026-04-01T00:00:00.000Z"],
      "the time to the minute",
    );
    const text = JSON.stringify(events);
    for (const hidden of [g1.id, g2.id, g3.id, g1.userId, golemSourceHash(TEST_SECRET_KEY, g1.id)]) {
      assert.ok(!text.includes(hidden), `no ${hidden} in the events`);
    }
  });

  it("refuses a variable, domain or regime holding an identifier (STYX_NOT_PUBLISHABLE) and stores nothing", async () => {
    const { service } = await setup();
    for (const [field, path] of [
      ["fromVariable", "/from_variable"],
      ["toVariable", "/to_variable"],
      ["domain", "/domain"],
      ["regime", "/regime"],
    ] as const) {
      await assert.rejects(service.publish(g1, edge({ [field]: g1.id })), (err: { code?: string; details?: unknown }) => {
        assert.equal(err.code, "STYX_NOT_PUBLISHABLE");
        assert.deepEqual(err.details, [{ path }]);
        return true;
      });
    }
    assert.deepEqual(await service.discover({ minValidations: 0, limit: 5 }), []);
  });

  it("tells each publish listener the golem, the edge and the outcome", async () => {
    const { service } = await setup();
    const heard: [string, CausalEdge, PublishOutcome][] = [];
    service.onPublish((golem, e, outcome) => {
      heard.push([golem.id, e, outcome]);
    });
    const a = await service.publish(g1, edge());
    const b = await service.publish(g2, edge());
    assert.deepEqual(heard, [
      [g1.id, a.edge, "created"],
      [g2.id, b.edge, "validated"],
    ]);
  });
});

describe("CausalService.discover", () => {
  it("ranks by validations, then confidence, within the filters", async () => {
    const { service } = await setup();
    await service.publish(g1, edge({ toVariable: "a", confidence: 0.95 }));
    await service.publish(g1, edge({ toVariable: "b", confidence: 0.7 }));
    await service.publish(g2, edge({ toVariable: "b", confidence: 0.7 }));
    await service.publish(g1, edge({ toVariable: "c", confidence: 0.9, regime: "bear" }));
    assert.deepEqual(
      (await service.discover({ domain: "perps", minValidations: 0, limit: 10 })).map((e) => e.toVariable),
      ["b", "a", "c"],
    );
    assert.deepEqual(
      (await service.discover({ regime: "bull", minValidations: 1, limit: 10 })).map((e) => e.toVariable),
      ["b"],
    );
  });
});
