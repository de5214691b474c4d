import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BloodstainResult, DeathEffects, DeathRecord, DeathStore } from "../../core/coordination/death.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import type { Entry } from "../../core/knowledge/types.js";
import { candidateFixture, entryFixture } from "./entry-store.contract.js";
import { golemFixture, userFixture } from "./identity-store.contract.js";

const T0 = 1_800_000_000_000;
const NOW = T0 + 1000;

/**
 * A death store under test with the stores a death writes to, all on one empty database: the
 * suite checks a death's effects (the golem, its entries, lethe candidates, pheromones)
 * through their own ports.
 */
export interface DeathStoreHarness {
  readonly deaths: DeathStore;
  readonly identity: IdentityStore;
  readonly entries: EntryStore;
  readonly pheromones: PheromoneStore;
}

let ids = 0;

function dep(golemId: string, over: Partial<PheromoneDeposit> = {}): PheromoneDeposit {
  return {
    id: `phe_d${++ids}`,
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: `src-${golemId}`,
    metadata: { bloodstain: true },
    hv: null,
    ...over,
  };
}

function death(golemId: string, diedAt = T0, over: Partial<Omit<DeathRecord, "result">> = {}): Omit<DeathRecord, "result"> {
  return {
    golemId,
    userId: "u1",
    generation: 1,
    deathCause: "starved",
    diedAt,
    recordedAt: NOW,
    ticksLived: 4242,
    warnings: 2,
    causalEdges: 1,
    testamentExcerpt: "remember the funding squeeze",
    somaticFragment: { fear: 0.9, scars: ["rug", "ünï"] },
    signed: true,
    bornAt: diedAt - 3_600_000,
    finalPhase: "dying",
    finalPad: { pleasure: -0.5, arousal: 0.25, dominance: -0.75 },
    finalNav: 1234.5,
    domains: ["defi", "nft"],
    ...over,
  };
}

/** Two clade warnings (the second with a lethe copy), a threat and a wisdom deposit. */
function effects(golemId: string): DeathEffects {
  return {
    entries: [
      { entry: entryFixture(`${golemId}-w1`, { golemId, isBloodstain: true, inClade: true, category: "warning" }) },
      {
        entry: entryFixture(`${golemId}-w2`, { golemId, isBloodstain: true, inClade: true, category: "warning", letheAt: NOW + 1000 }),
        lethe: candidateFixture(`${golemId}-c2`, { isBloodstain: true, dueAt: NOW + 1000, source: `src-${golemId}` }),
      },
    ],
    deposits: [dep(golemId), dep(golemId, { layer: "wisdom", class: "x->y", domain: "lend" })],
  };
}

const NONE: DeathEffects = { entries: [], deposits: [] };

function resultOf(golemId: string) {
  return (entries: readonly Entry[], deposits: readonly DepositOutcome[]): BloodstainResult => ({
    golemId,
    diedAt: T0,
    entryIds: entries.map((e) => e.id),
    pheromoneIds: deposits.map((d) => d.pheromone.id),
    letheQueued: entries.filter((e) => e.letheAt !== null || e.letheWaiting).length,
  });
}

/** Users u1 and u2 and the given golems (alive), through the identity port. */
async function golems(h: DeathStoreHarness, list: readonly (readonly [golemId: string, userId: string])[]): Promise<void> {
  for (const u of new Set(["u1", "u2"])) if (!(await h.identity.getUser(u))) await h.identity.createUser(userFixture(u));
  for (const [g, u] of list) await h.identity.createGolem(golemFixture(g, u, { status: "alive", generation: 1 }));
}

/** What a death of g1 may have written, as the other ports see it. */
async function written(h: DeathStoreHarness, golemId = "g1") {
  const g = await h.identity.getGolem(golemId);
  return {
    golem: [g?.status, g?.diedAt, g?.deathCause, g?.ticksLived],
    record: (await h.deaths.find(golemId)) !== undefined,
    entries: (await h.entries.pageGolemEntries(golemId, 0, 100, NOW)).map((e) => e.id),
    lethe: (await h.entries.dueLethe(Number.MAX_SAFE_INTEGER, 100)).map((c) => c.id),
    pheromones: (await h.pheromones.allLive(NOW)).map((p) => [p.layer, p.domain, p.confirmations]).sort(),
  };
}

const NOTHING = { golem: ["alive", null, null, 0], record: false, entries: [], lethe: [], pheromones: [] };

/** The behaviour every DeathStore must show (SPEC §6 on the store's side); `make` returns empty stores. */
export function describeDeathStoreContract(name: string, make: () => Promise<DeathStoreHarness> | DeathStoreHarness): void {
  describe(`DeathStore contract: ${name}`, () => {
    it("records a death with all its effects: the golem dead, the record, the entries, lethe copies and deposits", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const out = await h.deaths.record(death("g1"), effects("g1"), NOW, resultOf("g1"));
      assert.equal(out.created, true);
      assert.deepEqual(
        out.entries.map((e) => [e.id, e.isBloodstain, e.inClade]),
        [
          ["g1-w1", true, true],
          ["g1-w2", true, true],
        ],
      );
      assert.deepEqual(
        out.deposits.map((d) => [d.pheromone.layer, d.reinforced]),
        [
          ["threat", false],
          ["wisdom", false],
        ],
      );
      assert.deepEqual(out.record, {
        ...death("g1"),
        result: {
          golemId: "g1",
          diedAt: T0,
          entryIds: ["g1-w1", "g1-w2"],
          pheromoneIds: out.deposits.map((d) => d.pheromone.id),
          letheQueued: 1,
        },
      });
      assert.deepEqual(await h.deaths.find("g1"), out.record, "the record reads back as returned");
      assert.deepEqual(await written(h), {
        golem: ["dead", T0, "starved", 4242],
        record: true,
        entries: ["g1-w1", "g1-w2"],
        lethe: ["g1-c2"],
        pheromones: [
          ["threat", "defi", 0],
          ["wisdom", "lend", 0],
        ],
      });
    });

    it("keeps a record's optional fields as given: no testament, no fragment, unsigned", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const bare = death("g1", T0, {
        testamentExcerpt: null,
        somaticFragment: null,
        signed: false,
        warnings: 0,
        causalEdges: 0,
        bornAt: null,
        finalPhase: null,
        finalPad: null,
        finalNav: null,
        domains: [],
      });
      const out = await h.deaths.record(bare, NONE, NOW, resultOf("g1"));
      assert.deepEqual(await h.deaths.find("g1"), out.record);
      assert.deepEqual([out.record.testamentExcerpt, out.record.somaticFragment, out.record.signed], [null, null, false]);
      assert.deepEqual(
        [out.record.bornAt, out.record.finalPhase, out.record.finalPad, out.record.finalNav, out.record.domains],
        [null, null, null, null, []],
      );
      assert.equal(await h.deaths.find("g2"), undefined);
    });

    it("answers a repeat with the first record and writes nothing", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const first = await h.deaths.record(death("g1"), effects("g1"), NOW, resultOf("g1"));
      const before = await written(h);
      const again = await h.deaths.record(death("g1", T0 + 5, { deathCause: "other" }), effects("g1"), NOW + 1, resultOf("g1"));
      assert.deepEqual([again.created, again.entries, again.deposits], [false, [], []]);
      assert.deepEqual(again.record, first.record);
      assert.deepEqual(await written(h), before, "no second set of effects, no confirmation of its own pheromones");
    });

    it("writes nothing when the death fails after its deposits, and records it whole afterwards", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const failing = (): BloodstainResult => {
        throw new Error("injected");
      };
      await assert.rejects(h.deaths.record(death("g1"), effects("g1"), NOW, failing), /injected/);
      assert.deepEqual(await written(h), NOTHING);
      assert.equal(await h.deaths.firstOfUser("u1"), undefined);
      assert.deepEqual(await h.deaths.counts(0), { total: 0, since: 0 });
      const out = await h.deaths.record(death("g1"), effects("g1"), NOW, resultOf("g1"));
      assert.equal(out.created, true);
      assert.deepEqual(
        out.deposits.map((d) => [d.reinforced, d.pheromone.confirmations]),
        [
          [false, 0],
          [false, 0],
        ],
        "the rolled-back deposits left nothing to reinforce",
      );
      assert.equal((await written(h)).pheromones.length, 2);
    });

    it("writes nothing when one of its entries cannot be stored", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      await h.entries.insert(entryFixture("taken", { golemId: "g0" }));
      const fx = effects("g1");
      const clash: DeathEffects = { ...fx, entries: [...fx.entries, { entry: entryFixture("taken", { golemId: "g1" }) }] };
      await assert.rejects(h.deaths.record(death("g1"), clash, NOW, resultOf("g1")));
      assert.deepEqual(await written(h), NOTHING);
    });

    it("reinforces the live pheromones its deposits match, a new source confirming", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const earlier = await h.pheromones.deposit(dep("g0", { intensity: 0.3 }), T0);
      const out = await h.deaths.record(death("g1"), effects("g1"), NOW, resultOf("g1"));
      const [threat] = out.deposits;
      assert.deepEqual(
        [threat?.pheromone.id, threat?.reinforced, threat?.confirmed, threat?.pheromone.confirmations],
        [earlier.pheromone.id, true, true, 1],
      );
      assert.equal(threat?.pheromone.intensity, 0.8, "max(current, new)");
    });

    it("records a golem's death once when uploads race, every caller getting the one record", async () => {
      const h = await make();
      await golems(h, [["g1", "u1"]]);
      const outs = await Promise.all(
        Array.from({ length: 6 }, (_, i) => h.deaths.record(death("g1", T0 + i), effects("g1"), NOW, resultOf("g1"))),
      );
      assert.equal(outs.filter((o) => o.created).length, 1, "one creator");
      assert.equal(new Set(outs.map((o) => JSON.stringify(o.record))).size, 1, "one answer");
      assert.deepEqual((await written(h)).pheromones, [
        ["threat", "defi", 0],
        ["wisdom", "lend", 0],
      ]);
    });

    it("pages a user's graveyard by (diedAt, golemId) descending, stable under ties, and no other user's deaths", async () => {
      const h = await make();
      const list = [
        ["g3", "u1", T0 + 10],
        ["ga", "u1", T0 + 20],
        ["gZ", "u1", T0 + 20],
        ["g4", "u1", T0],
        ["g5", "u2", T0 + 30],
      ] as const;
      await golems(
        h,
        list.map(([g, u]) => [g, u]),
      );
      for (const [g, u, at] of list) await h.deaths.record(death(g, at, { userId: u }), NONE, NOW, resultOf(g));
      const page1 = await h.deaths.graveyard("u1", 2);
      assert.deepEqual(
        page1.map((r) => r.golemId),
        ["ga", "gZ"],
        "ties by id, binary order descending",
      );
      const last = page1.at(-1) as DeathRecord;
      const page2 = await h.deaths.graveyard("u1", 2, { diedAt: last.diedAt, golemId: last.golemId });
      assert.deepEqual(
        page2.map((r) => r.golemId),
        ["g3", "g4"],
      );
      const end = page2.at(-1) as DeathRecord;
      assert.deepEqual(await h.deaths.graveyard("u1", 2, { diedAt: end.diedAt, golemId: end.golemId }), []);
      assert.deepEqual(
        (await h.deaths.graveyard("u2", 10)).map((r) => r.golemId),
        ["g5"],
      );
      assert.deepEqual(await h.deaths.graveyard("nobody", 10), []);
      assert.deepEqual(await h.deaths.graveyard("u1", 1, { diedAt: T0 + 20, golemId: "gZ" }), [await h.deaths.find("g3")]);
    });

    it("lists the newest deaths of every user, at most `limit`", async () => {
      const h = await make();
      await golems(h, [
        ["g1", "u1"],
        ["g2", "u2"],
        ["g3", "u1"],
      ]);
      await h.deaths.record(death("g1", T0 + 10), NONE, NOW, resultOf("g1"));
      await h.deaths.record(death("g2", T0 + 30, { userId: "u2" }), NONE, NOW, resultOf("g2"));
      await h.deaths.record(death("g3", T0 + 20), NONE, NOW, resultOf("g3"));
      assert.deepEqual(
        (await h.deaths.recent(2)).map((r) => r.golemId),
        ["g2", "g3"],
      );
      assert.equal((await h.deaths.recent(10)).length, 3);
    });

    it("names a user's first recorded death (by recording, not by death time) and counts deaths since a time", async () => {
      const h = await make();
      await golems(h, [
        ["g1", "u1"],
        ["g2", "u1"],
        ["g3", "u2"],
      ]);
      assert.equal(await h.deaths.firstOfUser("u1"), undefined);
      await h.deaths.record(death("g2", T0 + 50), NONE, NOW, resultOf("g2"));
      await h.deaths.record(death("g1", T0), NONE, NOW, resultOf("g1"));
      await h.deaths.record(death("g3", T0 + 10, { userId: "u2" }), NONE, NOW, resultOf("g3"));
      assert.equal(await h.deaths.firstOfUser("u1"), "g2");
      assert.equal(await h.deaths.firstOfUser("u2"), "g3");
      assert.deepEqual(await h.deaths.counts(T0 + 10), { total: 3, since: 2 }, "since is inclusive");
      assert.deepEqual(await h.deaths.counts(T0 + 51), { total: 3, since: 0 });
    });
  });
}
