import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AchievementStore } from "../../core/coordination/achievements.js";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import { golemFixture, userFixture } from "./identity-store.contract.js";

const T0 = 1_800_000_000_000;

/** An achievement store under test, with the identity store of the same database (achievements belong to golems). */
export interface AchievementStoreHarness {
  readonly achievements: AchievementStore;
  readonly identity: IdentityStore;
}

async function golems(h: AchievementStoreHarness, ...ids: string[]): Promise<void> {
  await h.identity.createUser(userFixture("u1"));
  for (const id of ids) await h.identity.createGolem(golemFixture(id, "u1"));
}

/** The behaviour every AchievementStore must show (SPEC §8 on the store's side); `make` returns empty stores. */
export function describeAchievementStoreContract(
  name: string,
  make: () => Promise<AchievementStoreHarness> | AchievementStoreHarness,
): void {
  describe(`AchievementStore contract: ${name}`, () => {
    it("unlocks an achievement once per golem: true the first time, false after, the first time kept", async () => {
      const h = await make();
      await golems(h, "g1", "g2");
      const s = h.achievements;
      assert.equal(await s.unlock("g1", "elder", T0), true);
      assert.equal(await s.unlock("g1", "elder", T0 + 5), false);
      assert.equal(await s.unlock("g2", "elder", T0 + 7), true, "another golem unlocks it for itself");
      assert.deepEqual(await s.list("g1"), [{ code: "elder", unlockedAt: T0 }]);
      assert.deepEqual(await s.list("g2"), [{ code: "elder", unlockedAt: T0 + 7 }]);
    });

    it("lists a golem's achievements by unlock time, then code, and nobody else's", async () => {
      const h = await make();
      await golems(h, "g1", "g2");
      const s = h.achievements;
      await s.unlock("g1", "swarm", T0 + 10);
      await s.unlock("g1", "scarred", T0);
      await s.unlock("g1", "prophet", T0 + 10);
      await s.unlock("g2", "first_words", T0);
      assert.deepEqual(await s.list("g1"), [
        { code: "scarred", unlockedAt: T0 },
        { code: "prophet", unlockedAt: T0 + 10 },
        { code: "swarm", unlockedAt: T0 + 10 },
      ]);
      assert.deepEqual(await s.list("g3"), []);
    });

    it("lets exactly one of many concurrent unlocks of a (golem, code) win", async () => {
      const h = await make();
      await golems(h, "g1");
      const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => h.achievements.unlock("g1", "third_generation", T0 + i)));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal((await h.achievements.list("g1")).length, 1);
    });

    it("keeps the first sealed golem of a source hash and knows no other hash", async () => {
      const h = await make();
      const s = h.achievements;
      assert.equal(await s.sealedGolemOf("h1"), undefined);
      await s.rememberSource("h1", "sealed-1");
      await s.rememberSource("h1", "sealed-2");
      await s.rememberSource("h2", "sealed-3");
      assert.equal(await s.sealedGolemOf("h1"), "sealed-1");
      assert.equal(await s.sealedGolemOf("h2"), "sealed-3");
      assert.equal(await s.sealedGolemOf("H1"), undefined, "hashes match exactly");
      await Promise.all(Array.from({ length: 8 }, (_, i) => s.rememberSource("h3", `race-${i}`)));
      assert.match((await s.sealedGolemOf("h3")) ?? "", /^race-\d$/);
    });
  });
}
