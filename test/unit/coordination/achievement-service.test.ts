import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { AesSealedBox } from "../../../src/adapters/crypto/aes-sealed-box.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteAchievementStore } from "../../../src/adapters/sqlite/sqlite-achievement-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { AchievementService } from "../../../src/core/coordination/achievements.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { golemFixture, userFixture } from "../../../src/testing/contracts/identity-store.contract.js";
import { aliveGolem, recordingBus, TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

const golem = aliveGolem("g1", "u1", { generation: 3 });

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const db = openDatabase(":memory:");
  const identity = new SqliteIdentityStore(db);
  await identity.createUser(userFixture("u1"));
  await identity.createGolem(golemFixture("g1", "u1"));
  const store = new SqliteAchievementStore(db);
  const recorded = await recordingBus(clock);
  const box = AesSealedBox.open(TEST_SECRET_KEY, "source-directory");
  const make = () => new AchievementService({ store, bus: recorded.bus, clock, box });
  return { clock, store, box, make, service: make(), ...recorded };
}

describe("AchievementService.evaluate", () => {
  it("unlocks what the facts earn, announcing each on the owner's stream and the golem's with the clock's time", async () => {
    const { service, events, clock } = await setup();
    const fresh = await service.evaluate(golem, { entriesWritten: 1, generation: 3, ticksLived: 9_999 });
    assert.deepEqual(fresh, ["first_words", "third_generation"]);
    assert.deepEqual(
      events.filter((e) => e.stream === "golem:g1").map((e) => e.payload.code),
      ["first_words", "third_generation"],
      "each also on the golem's own stream",
    );
    assert.deepEqual(
      events.filter((e) => e.stream === "user:u1").map((e) => [e.stream, e.channel, e.payload]),
      [
        [
          "user:u1",
          "styx:achievement",
          { golem_id: "g1", code: "first_words", title: "First words", unlocked_at: new Date(clock.now()).toISOString() },
        ],
        [
          "user:u1",
          "styx:achievement",
          { golem_id: "g1", code: "third_generation", title: "Third generation", unlocked_at: new Date(clock.now()).toISOString() },
        ],
      ],
    );
    assert.deepEqual(await service.list("g1"), [
      { code: "first_words", unlockedAt: clock.now() },
      { code: "third_generation", unlockedAt: clock.now() },
    ]);
  });

  it("unlocks each achievement once, also after a restart, and announces only new ones", async () => {
    const { service, make, events, clock } = await setup();
    await service.evaluate(golem, { entriesWritten: 1 });
    clock.advance(1000);
    assert.deepEqual(await service.evaluate(golem, { entriesWritten: 2, ticksLived: 10_000 }), ["elder"]);
    assert.deepEqual(await make().evaluate(golem, { entriesWritten: 3, ticksLived: 20_000 }), [], "a new process finds them unlocked");
    assert.deepEqual(
      events.filter((e) => e.stream === "user:u1").map((e) => e.payload.code),
      ["first_words", "elder"],
    );
    assert.equal((await service.list("g1")).find((u) => u.code === "first_words")?.unlockedAt, clock.now() - 1000, "the first time kept");
  });

  it("evaluates no rule whose fact is absent", async () => {
    const { service, events } = await setup();
    assert.deepEqual(await service.evaluate(aliveGolem("g1", "u1", { generation: 9 }), {}), []);
    assert.deepEqual(events, []);
  });
});

describe("AchievementService source directory", () => {
  it("credits a source hash to the golem it was remembered for, sealed so the store never holds the id", async () => {
    const { service, store } = await setup();
    // A long id: a short one ("g1") turns up by chance in random sealed text about once in fifty runs.
    const id = "glm_directory_probe_7f3a";
    await service.remember("hash-a", id);
    assert.equal(await service.golemOfSource("hash-a"), id);
    assert.equal(await service.golemOfSource("hash-b"), undefined);
    const sealed = (await store.sealedGolemOf("hash-a")) ?? "";
    assert.ok(sealed.length > 0 && !sealed.includes(id), "the store holds sealed text only");
  });

  it("keeps the first golem of a hash", async () => {
    const { make } = await setup();
    await make().remember("hash-a", "g1");
    await make().remember("hash-a", "g2");
    assert.equal(await make().golemOfSource("hash-a"), "g1");
  });

  it("names nobody for a sealed value moved to another hash, or sealed under another key", async () => {
    const { service, store, clock, bus } = await setup();
    await service.remember("hash-a", "g1");
    await store.rememberSource("hash-moved", (await store.sealedGolemOf("hash-a")) as string);
    assert.equal(await service.golemOfSource("hash-moved"), undefined);
    const otherKey = SecretKey.fromBase64(Buffer.alloc(32, 9).toString("base64"));
    const other = new AchievementService({ store, bus, clock, box: AesSealedBox.open(otherKey, "source-directory") });
    assert.equal(await other.golemOfSource("hash-a"), undefined);
  });
});
