import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import type { LetheCandidate } from "../../core/knowledge/types.js";
import { candidateFixture, entryFixture, T } from "./entry-fixtures.js";

/** k-anonymity of lethe domains (SPEC §4.2 step 5), as every EntryStore adapter must keep it. */
export function describeLetheKContract(name: string, make: () => Promise<EntryStore> | EntryStore): void {
  describe(`EntryStore contract: ${name}`, () => {
    let store: EntryStore;
    beforeEach(async () => {
      store = await make();
    });

    /** Queues a candidate the way the knowledge service does: with its source entry. */
    async function queue(c: LetheCandidate): Promise<void> {
      await store.insert(entryFixture(`src-${c.id}`), c);
    }

    describe("k-anonymity of lethe domains", () => {
      /** Writes an entry with a candidate of `source` that needs k = 3 distinct sources, written at `at`. */
      const write = (id: string, source: string, at: number, extra: Partial<LetheCandidate> = {}) =>
        store.insert(
          entryFixture(`e-${id}`, { letheAt: at + 1000 }),
          candidateFixture(id, { source, k: 3, dueAt: at + 1000, delayMs: 1000, ...extra }),
        );

      it("queues a candidate waiting while its domain has fewer than k distinct sources: never due, no due time", async () => {
        const a = await write("c1", "src-a", T);
        const b = await write("c2", "src-b", T + 10);
        for (const s of [a, b]) {
          assert.equal(s.entry.letheAt, null);
          assert.equal(s.entry.letheWaiting, true);
          assert.equal(s.releasedDue, undefined);
        }
        assert.deepEqual(await store.getEntry(a.entry.id, T), a.entry, "the entry is stored as waiting");
        assert.deepEqual(await store.dueLethe(T + 10 * 86_400_000, 10), [], "a waiting candidate is never due");
        assert.equal(await store.nextLetheDue(), undefined);
      });

      it("counts a source once however often it writes, and each domain apart", async () => {
        await write("c1", "src-a", T);
        await write("c2", "src-a", T);
        await write("c3", "src-b", T);
        await write("c4", "src-c", T, { domain: "lending" });
        const again = await write("c5", "src-b", T);
        assert.equal(again.entry.letheWaiting, true, "two distinct sources in dex, whatever else was written");
        assert.deepEqual(await store.dueLethe(T + 86_400_000, 10), []);
      });

      it("releases every waiting candidate of the domain when the k-th source writes: due at that write plus its own delay", async () => {
        await write("c1", "src-a", T, { delayMs: 5000, dueAt: T + 5000 });
        await write("c2", "src-b", T + 100, { delayMs: 2000, dueAt: T + 2100 });
        await write("other", "src-z", T, { domain: "lending" });
        const met = T + 60_000;
        const third = await write("c3", "src-c", met, { delayMs: 3000, dueAt: met + 3000 });
        assert.equal(third.entry.letheWaiting, false);
        assert.equal(third.entry.letheAt, met + 1000, "the k-th write keeps its own due time");
        assert.equal(third.releasedDue, met + 2000, "the earliest released due time");
        assert.deepEqual(
          (await store.dueLethe(met + 5000, 10)).map((c) => [c.id, c.dueAt]),
          [
            ["c2", met + 2000],
            ["c3", met + 3000],
            ["c1", met + 5000],
          ],
        );
        assert.equal(await store.nextLetheDue(), met + 2000);
        const fourth = await write("c4", "src-d", met + 10);
        assert.deepEqual([fourth.entry.letheWaiting, fourth.releasedDue], [false, undefined], "later writes are due at once");
      });

      it("dropLethe removes a queued candidate, waiting or due, once", async () => {
        await write("c1", "src-a", T);
        await queue(candidateFixture("due"));
        assert.equal(await store.dropLethe("c1"), true);
        assert.equal(await store.dropLethe("c1"), false);
        assert.equal(await store.dropLethe("due"), true);
        assert.equal(await store.dropLethe("never"), false);
        await write("c2", "src-b", T);
        assert.equal((await write("c3", "src-c", T)).releasedDue, T + 1000, "c2 is released");
        assert.deepEqual((await store.dueLethe(T + 86_400_000, 10)).map((c) => c.id).sort(), ["c2", "c3"], "the dropped c1 is not");
      });

      it("releaseLethe releases waiting candidates only in domains that have k writers, due at `at` plus their own delay", async () => {
        await write("c1", "src-a", T, { delayMs: 4000 });
        await write("c2", "src-b", T, { delayMs: 2000 });
        await write("lone", "src-a", T, { domain: "lending" });
        assert.equal(await store.releaseLethe(3, T + 50_000), undefined, "no domain has 3 writers");
        assert.equal(await store.releaseLethe(2, T + 50_000), T + 52_000);
        assert.deepEqual(
          (await store.dueLethe(T + 86_400_000, 10)).map((c) => [c.id, c.dueAt]),
          [
            ["c2", T + 52_000],
            ["c1", T + 54_000],
          ],
          "lending has one writer: it still waits",
        );
        assert.equal(await store.releaseLethe(2, T + 90_000), undefined, "nothing waits there any more");
      });

      it("counts no source for a repeated idempotency key, nor for a batch that failed", async () => {
        await store.insert(entryFixture("first", { idempotencyKey: "k" }));
        await store.insert(entryFixture("repeat", { idempotencyKey: "k" }), candidateFixture("c0", { source: "src-x", k: 3 }));
        await assert.rejects(
          store.insertMany([
            { entry: entryFixture("fresh"), lethe: candidateFixture("cf", { source: "src-y", k: 3 }) },
            { entry: entryFixture("first") },
          ]),
        );
        await write("c1", "src-a", T);
        assert.equal((await write("c2", "src-b", T)).entry.letheWaiting, true, "src-x and src-y were never counted");
      });
    });
  });
}
