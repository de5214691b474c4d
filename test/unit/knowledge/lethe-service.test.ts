import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { KnowledgeService } from "../../../src/core/knowledge/knowledge-service.js";
import { LetheService, PUBLISH_BATCH } from "../../../src/core/knowledge/lethe-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { blake3Hex, initCrypto } from "../../../src/core/platform/crypto.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const MINUTE = 60_000;
const TEXT = "open interest outruns spot volume before a squeeze";

/** Writers and the lethe publisher over one SQLite store in RAM; k = 1, every copy due 1 min after its write. */
async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 15, 30));
  const store = new SqliteEntryStore(openDatabase(":memory:"));
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const pipeline = testPipeline();
  const recorded = await recordingBus(clock);
  const knowledge = new KnowledgeService({
    store,
    vectors,
    clock,
    dimensions: 4,
    letheDelay: { minMs: MINUTE, maxMs: MINUTE },
    letheK: 1,
    key: TEST_SECRET_KEY,
    pipeline,
  });
  const lethe = new LetheService({ store, vectors, bus: recorded.bus, clock, pipeline });
  const share = (golem: Golem, content = TEXT, embedding?: number[]) =>
    knowledge.write({ golem, layer: "lethe", category: "insight", confidence: 0.8, domain: "perps", content, embedding });
  const published = (content = TEXT) => store.findLetheByHash("perps", blake3Hex(content));
  return { clock, store, vectors, pipeline, lethe, share, published, ...recorded };
}

describe("LetheService.publishDue", () => {
  it("publishes a copy only once it is due, anonymized, at the hour, and announces it on its domain", async () => {
    const h = await setup();
    await h.share(aliveGolem("glm_l1", "usr_l1"));
    assert.equal(await h.lethe.nextDue(), h.clock.now() + MINUTE);
    h.clock.advance(MINUTE - 1);
    assert.deepEqual(await h.lethe.publishDue(), { published: 0, reinforced: 0 });
    h.clock.advance(1);
    assert.deepEqual(await h.lethe.publishDue(), { published: 1, reinforced: 0 });
    assert.equal(await h.lethe.nextDue(), undefined);
    const e = await h.published();
    assert.deepEqual(
      [e?.confidence, e?.sources.length, e?.createdAt],
      [0.4, 1, Date.UTC(2026, 11, 1, 15)],
      "half the writer's confidence, one source, the hour",
    );
    assert.ok(!JSON.stringify(e).includes("usr_l1") && !JSON.stringify(e).includes("glm_l1"));
    assert.deepEqual(h.on("styx:lethe:published"), [
      {
        stream: "domain:perps",
        seq: 1,
        channel: "styx:lethe:published",
        payload: { id: e?.id, domain: "perps", category: "insight", reinforced: false, confirmations: 0, established: false },
      },
    ]);
    assert.deepEqual(await h.lethe.publishDue(), { published: 0, reinforced: 0 }, "published once");
  });

  it("counts the same content from another user as a confirmation, and from the same user as a refresh", async () => {
    const h = await setup();
    await h.share(aliveGolem("glm_l1", "usr_l1"));
    h.clock.advance(MINUTE);
    await h.lethe.publishDue();
    await h.share(aliveGolem("glm_l1b", "usr_l1"));
    await h.share(aliveGolem("glm_l2", "usr_l2"));
    h.clock.advance(MINUTE);
    assert.deepEqual(await h.lethe.publishDue(), { published: 0, reinforced: 2 });
    const e = await h.published();
    assert.equal(e?.sources.length, 2, "two users, whatever their golems");
    assert.deepEqual(
      h.on("styx:lethe:published").map((x) => [x.payload.reinforced, x.payload.confirmations]),
      [
        [false, 0],
        [true, 0],
        [true, 1],
      ],
    );
  });

  it("reinforces a near-duplicate vector of its domain (cosine above 0.92) instead of publishing a twin", async () => {
    const h = await setup();
    await h.share(aliveGolem("glm_l1", "usr_l1"), "first wording", [1, 0, 0, 0]);
    h.clock.advance(MINUTE);
    await h.lethe.publishDue();
    await h.share(aliveGolem("glm_l2", "usr_l2"), "second wording", [0.99, 0.1, 0, 0]);
    await h.share(aliveGolem("glm_l3", "usr_l3"), "unrelated wording", [0.9, 0.44, 0, 0]);
    h.clock.advance(MINUTE);
    assert.deepEqual(await h.lethe.publishDue(), { published: 1, reinforced: 1 }, "cos 0.995 reinforces; cos 0.898 is new");
    assert.equal((await h.published("first wording"))?.sources.length, 2);
    assert.equal(await h.published("second wording"), undefined);
  });

  it("matches identifiers learned after the copy was queued before publishing it", async () => {
    const h = await setup();
    await h.share(aliveGolem("glm_l1", "usr_l1"), "copy trader zq-late-77x front-runs the squeeze");
    h.pipeline.remember([{ kind: "golem", value: "zq-late-77x", userId: "usr_other" }]);
    h.clock.advance(MINUTE);
    await h.lethe.publishDue();
    const [e] = await h.store.getLetheBySeqs([1], {});
    assert.ok(e && !e.content.includes("zq-late-77x"), e?.content);
    assert.match(e?.content ?? "", /front-runs the squeeze/);
  });

  it("publishes everything due, however many batches it takes", async () => {
    const h = await setup();
    for (let i = 0; i < 7; i++) await h.share(aliveGolem(`glm_b${i}`, `usr_b${i}`), `distinct copy number ${i}`);
    h.clock.advance(MINUTE);
    assert.deepEqual(await h.lethe.publishDue(3), { published: 7, reinforced: 0 });
    assert.deepEqual((await h.store.letheDomains()).sort(), ["perps"]);
  });

  it("reads due copies a few at a time, not a whole backlog of 64 KiB texts at once", async () => {
    const h = await setup();
    for (let i = 0; i < 3 * PUBLISH_BATCH + 1; i++)
      await h.share(aliveGolem(`glm_r${i}`, `usr_r${i}`), `distinct backlog copy ${"abcdefghijklmnopqrstuvwxyz".slice(i, i + 3)}`);
    h.clock.advance(MINUTE);
    const limits: number[] = [];
    const dueLethe = h.store.dueLethe.bind(h.store);
    h.store.dueLethe = (now, limit) => {
      limits.push(limit);
      return dueLethe(now, limit);
    };
    assert.deepEqual(await h.lethe.publishDue(), { published: 3 * PUBLISH_BATCH + 1, reinforced: 0 });
    assert.ok(PUBLISH_BATCH <= 8 && limits.every((l) => l === PUBLISH_BATCH), `limits ${limits.join(", ")}`);
    assert.equal(limits.length, 4);
  });
});
