import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CausalStore } from "../../core/coordination/causal.js";
import type { PheromoneStore } from "../../core/coordination/pheromone-store.js";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import { candidateFixture, entryFixture, T } from "./entry-fixtures.js";

/** The fact stores of one database, as the federation snapshot and the record applier use them. */
export interface FederationPagesHarness {
  readonly pheromones: PheromoneStore;
  readonly causal: CausalStore;
  readonly entries: EntryStore;
}

/**
 * What federation asks of the fact stores beyond their own contracts (SPEC §17.2): pages of a
 * domain's live pheromones, causal edges and lethe entries in id (seq) order after a position,
 * and `queueLethe`, which queues a federated candidate due at once whatever its domain's
 * writers, counting its source among them.
 */
export function describeFederationPagesContract(name: string, make: () => Promise<FederationPagesHarness>): void {
  describe(`federation pages and queueLethe (${name})`, () => {
    it("pages a domain's live pheromones by id after a position, leaving out the faded and other domains", async () => {
      const { pheromones } = await make();
      const dep = (id: string, cls: string, domain: string, intensity = 0.8) =>
        pheromones.deposit(
          { id, layer: "threat", class: cls, domain, regime: "bull", intensity, sourceHash: "s1", metadata: {}, hv: null },
          T,
        );
      await dep("phe_b", "b", "defi");
      await dep("phe_a", "a", "defi");
      await dep("phe_c", "c", "defi");
      await dep("phe_x", "x", "nft");
      await dep("phe_f", "f", "defi", 0.0502);
      const later = T + 60_000; // the 0.0502 deposit has faded a little under 0.05 by now
      assert.deepEqual(
        (await pheromones.pageLive("defi", "", 2, later)).map((p) => p.id),
        ["phe_a", "phe_b"],
      );
      assert.deepEqual(
        (await pheromones.pageLive("defi", "phe_b", 2, later)).map((p) => p.id),
        ["phe_c"],
      );
    });

    it("pages a domain's causal edges by id after a position", async () => {
      const { causal } = await make();
      const edge = (id: string, from: string, domain = "defi") =>
        causal.publish(
          {
            id,
            fromVariable: from,
            toVariable: "y",
            domain,
            regime: "bull",
            direction: "positive",
            strength: "weak",
            lagTicks: 1,
            evidenceCount: 3,
            confidence: 0.7,
            publisherHash: "p1",
          },
          T,
        );
      await edge("cau_2", "b");
      await edge("cau_1", "a");
      await edge("cau_9", "z", "nft");
      assert.deepEqual(
        (await causal.pageEdges("defi", "", 10)).map((e) => e.id),
        ["cau_1", "cau_2"],
      );
      assert.deepEqual(
        (await causal.pageEdges("defi", "cau_1", 1)).map((e) => e.id),
        ["cau_2"],
      );
    });

    it("queues a federated candidate due at once below k, counting its source as a writer of its domain", async () => {
      const { entries } = await make();
      // A local candidate waits: its domain has one writer of the three it needs.
      const local = await entries.insert(entryFixture("e1"), candidateFixture("lth_local", { k: 3, dueAt: T + 1000, delayMs: 1000 }));
      assert.equal(local.entry.letheWaiting, true);
      await entries.queueLethe(candidateFixture("lth_fed1", { k: 3, dueAt: T, delayMs: 0, source: "sx_00000000000000dd:aa" }));
      assert.deepEqual(
        (await entries.dueLethe(T, 10)).map((c) => c.id),
        ["lth_fed1"],
        "due at once, the local one still waiting",
      );
      // The third distinct writer of the domain releases the waiting local candidate.
      await entries.queueLethe(candidateFixture("lth_fed2", { k: 3, dueAt: T, delayMs: 0, source: "sx_00000000000000dd:bb" }));
      assert.deepEqual((await entries.dueLethe(T + 1000, 10)).map((c) => c.id).sort(), ["lth_fed1", "lth_fed2", "lth_local"]);
    });

    it("pages a domain's lethe entries by seq after a position", async () => {
      const { entries } = await make();
      for (const id of ["lth_1", "lth_2", "lth_3"]) {
        const c = candidateFixture(id, { k: 1, dueAt: T, delayMs: 0, content: `text ${id}` });
        await entries.queueLethe(c);
        assert.ok(await entries.publishLethe(c, `hash-${id}`, T));
      }
      const other = candidateFixture("lth_nft", { k: 1, dueAt: T, delayMs: 0, domain: "nft" });
      await entries.queueLethe(other);
      await entries.publishLethe(other, "hash-nft", T);
      const first = await entries.pageLethe("dex", 0, 2);
      assert.deepEqual(
        first.map((e) => e.id),
        ["lth_1", "lth_2"],
      );
      assert.deepEqual(
        (await entries.pageLethe("dex", first[1]?.seq ?? 0, 2)).map((e) => e.id),
        ["lth_3"],
      );
    });
  });
}
