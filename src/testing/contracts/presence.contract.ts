import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GolemPresence, Presence } from "../../core/fabric/presence.js";

const T0 = 1_800_000_000_000;

function beat(golemId: string, userId: string, over: Partial<GolemPresence> = {}): GolemPresence {
  return {
    golemId,
    userId,
    phase: "thriving",
    vitality: 0.8,
    pad: { pleasure: 0.1, arousal: -0.2, dominance: 0.3 },
    emotion: "calm",
    regime: "bull",
    tick: 42,
    domains: ["defi", "nft"],
    dreaming: false,
    nav: 1234.5,
    lastSeen: T0,
    archetype: "scout",
    generation: 2,
    bornAt: T0 - 86_400_000,
    ...over,
  };
}

function ids(list: readonly GolemPresence[]): string[] {
  return list.map((p) => p.golemId).sort();
}

/** The behaviour every Presence adapter must show; `make` returns an empty presence map. */
export function describePresenceContract(name: string, make: () => Promise<Presence> | Presence): void {
  describe(`Presence contract: ${name}`, () => {
    it("returns the last beat of a golem exactly, and a new beat replaces it whole", async () => {
      const p = await make();
      assert.equal(await p.ofGolem("g1"), undefined);
      const first = beat("g1", "u1");
      await p.beat(first);
      assert.deepEqual(await p.ofGolem("g1"), first);
      const bare = beat("g1", "u1", {
        phase: null,
        vitality: null,
        pad: null,
        emotion: null,
        regime: null,
        tick: null,
        domains: [],
        dreaming: true,
        nav: null,
        lastSeen: T0 + 20_000,
      });
      await p.beat(bare);
      assert.deepEqual(await p.ofGolem("g1"), bare, "no field of the earlier beat survives");
      assert.equal((await p.ofUser("u1")).length, 1, "one golem, however many beats");
    });

    it("answers a user with that user's golems only", async () => {
      const p = await make();
      await p.beat(beat("g1", "u1"));
      await p.beat(beat("g2", "u1"));
      await p.beat(beat("g3", "u2"));
      assert.deepEqual(ids(await p.ofUser("u1")), ["g1", "g2"]);
      assert.deepEqual(ids(await p.ofUser("u2")), ["g3"]);
      assert.deepEqual(await p.ofUser("nobody"), []);
    });

    it("moves a golem whose beat names another user out of the first user's fleet", async () => {
      const p = await make();
      await p.beat(beat("g1", "u1"));
      await p.beat(beat("g1", "u2", { lastSeen: T0 + 1 }));
      assert.deepEqual(await p.ofUser("u1"), []);
      assert.deepEqual(ids(await p.ofUser("u2")), ["g1"]);
      assert.equal((await p.ofGolem("g1"))?.userId, "u2");
    });

    it("lists the golems of every user heard from since a time (inclusive)", async () => {
      const p = await make();
      await p.beat(beat("old", "u1", { lastSeen: T0 - 1 }));
      await p.beat(beat("edge", "u1", { lastSeen: T0 }));
      await p.beat(beat("new", "u2", { lastSeen: T0 + 5000 }));
      assert.deepEqual(ids(await p.activeSince(T0)), ["edge", "new"]);
      assert.deepEqual(ids(await p.activeSince(T0 + 5001)), []);
      await p.beat(beat("old", "u1", { lastSeen: T0 + 6000 }));
      assert.deepEqual(ids(await p.activeSince(T0 + 5001)), ["old"], "a fresh beat counts, not the first one");
    });

    it("forgets one golem at once, everywhere, and nothing else", async () => {
      const p = await make();
      await p.beat(beat("g1", "u1"));
      await p.beat(beat("g2", "u1"));
      await p.forget("g1");
      await p.forget("never-seen");
      assert.equal(await p.ofGolem("g1"), undefined);
      assert.deepEqual(
        (await p.ofUser("u1")).map((x) => x.golemId),
        ["g2"],
      );
      assert.deepEqual(
        (await p.activeSince(0)).map((x) => x.golemId),
        ["g2"],
      );
    });

    it("sweep forgets exactly the golems last seen before the cut and says how many", async () => {
      const p = await make();
      await p.beat(beat("a", "u1", { lastSeen: T0 - 2 }));
      await p.beat(beat("b", "u1", { lastSeen: T0 - 1 }));
      await p.beat(beat("c", "u1", { lastSeen: T0 }));
      await p.beat(beat("d", "u2", { lastSeen: T0 - 5 }));
      assert.equal(await p.sweep(T0), 3);
      assert.equal(await p.ofGolem("a"), undefined);
      assert.equal(await p.ofGolem("d"), undefined);
      assert.deepEqual(ids(await p.ofUser("u1")), ["c"]);
      assert.deepEqual(await p.ofUser("u2"), []);
      assert.deepEqual(ids(await p.activeSince(0)), ["c"]);
      assert.equal(await p.sweep(T0), 0, "nothing left to forget");
      await p.beat(beat("a", "u1", { lastSeen: T0 + 1 }));
      assert.deepEqual(ids(await p.ofUser("u1")), ["a", "c"], "a swept golem comes back with its next beat");
    });

    it("keeps every one of many concurrent beats", async () => {
      const p = await make();
      await Promise.all(Array.from({ length: 50 }, (_, i) => p.beat(beat(`g${i}`, `u${i % 3}`, { lastSeen: T0 + i }))));
      assert.equal((await p.activeSince(0)).length, 50);
      assert.equal((await p.ofUser("u0")).length, 17);
      assert.equal((await p.ofGolem("g49"))?.lastSeen, T0 + 49);
    });
  });
}
