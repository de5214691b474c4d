import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { type EntryListFilter, type EntryStore, metadataMatch } from "../../core/knowledge/entry-store.js";
import { candidateFixture, entryFixture, T } from "./entry-fixtures.js";

function listFilter(extra: Partial<EntryListFilter> = {}): EntryListFilter {
  return { userId: "u1", cladeOnly: false, metadata: [], now: T, ...extra };
}

/** Single-entry records (SPEC §4.1): get, list, delete, validate, as every EntryStore adapter must keep them. */
export function describeEntryRecordsContract(name: string, make: () => Promise<EntryStore> | EntryStore): void {
  describe(`EntryStore contract (records): ${name}`, () => {
    let store: EntryStore;
    beforeEach(async () => {
      store = await make();
    });

    const ids = async (f: Partial<EntryListFilter>, after?: { createdAt: number; id: string }, limit = 100) =>
      (await store.listEntries(listFilter(f), after, limit)).map((e) => e.id);

    it("getEntry finds any user's live entry by id (tenancy decides), never an expired one", async () => {
      await store.insert(entryFixture("g1", { userId: "u2", metadata: { a: 1 } }));
      await store.insert(entryFixture("g2", { expiresAt: T + 10 }));
      assert.deepEqual((await store.getEntry("g1", T))?.metadata, { a: 1 });
      assert.equal((await store.getEntry("g2", T))?.id, "g2");
      assert.equal(await store.getEntry("g2", T + 10), undefined);
      assert.equal(await store.getEntry("nope", T), undefined);
    });

    it("listEntries pages the tenant's live entries in (createdAt, id) order", async () => {
      for (const [id, at] of [
        ["b", T + 1],
        ["a", T + 1],
        ["c", T],
        ["d", T + 2],
      ] as const)
        await store.insert(entryFixture(id, { createdAt: at }));
      await store.insert(entryFixture("x", { userId: "u2", createdAt: T }));
      await store.insert(entryFixture("dead", { createdAt: T, expiresAt: T }));
      assert.deepEqual(await ids({}), ["c", "a", "b", "d"]);
      assert.deepEqual(await ids({}, undefined, 2), ["c", "a"]);
      assert.deepEqual(await ids({}, { createdAt: T + 1, id: "a" }), ["b", "d"]);
      assert.deepEqual(await ids({ userId: "u2" }), ["x"]);
    });

    it("listEntries filters by golem, clade, category, domain and created range", async () => {
      await store.insert(entryFixture("e1", { golemId: "g2", createdAt: T + 1 }));
      await store.insert(entryFixture("e2", { inClade: true, category: "warning", createdAt: T + 2 }));
      await store.insert(entryFixture("e3", { domain: "perps", createdAt: T + 3 }));
      assert.deepEqual(await ids({ golemId: "g2" }), ["e1"]);
      assert.deepEqual(await ids({ cladeOnly: true }), ["e2"]);
      assert.deepEqual(await ids({ category: "warning" }), ["e2"]);
      assert.deepEqual(await ids({ domain: "perps" }), ["e3"]);
      assert.deepEqual(await ids({ createdAfter: T + 1, createdBefore: T + 3 }), ["e2"]);
    });

    it("listEntries matches metadata values by key: strings exactly, numbers and booleans by their text", async () => {
      await store.insert(entryFixture("m1", { metadata: { venue: "uni", n: 42, ok: true, constructor: "c", nested: { venue: "uni" } } }));
      await store.insert(entryFixture("m2", { metadata: { venue: "42", n: 4.5, ok: false, "a.b": "dot" }, createdAt: T + 1 }));
      await store.insert(entryFixture("m3", { metadata: { venue: 'say "hi" \\ ü/' }, createdAt: T + 2 }));
      await store.insert(entryFixture("m4", { metadata: { venue: "nul \u0000 here", n: "\\\u0000" }, createdAt: T + 3 }));
      const m = (...pairs: [string, string][]) => ({ metadata: pairs.map(([k, v]) => metadataMatch(k, v)) });
      assert.deepEqual(await ids(m(["venue", "uni"])), ["m1"]);
      assert.deepEqual(await ids(m(["n", "42"])), ["m1"]);
      assert.deepEqual(await ids(m(["venue", "42"])), ["m2"], "the string 42");
      assert.deepEqual(await ids(m(["n", "4.5"])), ["m2"]);
      assert.deepEqual(await ids(m(["ok", "true"])), ["m1"]);
      assert.deepEqual(await ids(m(["ok", "false"])), ["m2"]);
      assert.deepEqual(await ids(m(["a.b", "dot"])), ["m2"], "a key is data, not a path");
      assert.deepEqual(await ids(m(["venue", 'say "hi" \\ ü/'])), ["m3"], "quotes, backslashes, non-ASCII");
      assert.deepEqual(await ids(m(["constructor", "c"])), ["m1"]);
      assert.deepEqual(await ids(m(["__proto__", "x"], ["toString", "x"])), []);
      assert.deepEqual(await ids(m(["nested", "uni"])), [], "objects never match");
      assert.deepEqual(await ids(m(["venue", "uni"], ["n", "4.5"])), [], "every filter must match");
      assert.deepEqual(await ids(m(["$.venue", "uni"], ["venue'", "uni"])), []);
    });

    it("deleteEntry removes the tenant's entry with its text, votes and queued lethe copy, once", async () => {
      const { entry } = await store.insert(
        entryFixture("d1", { content: "unique zebra text", letheAt: T + 1000 }),
        candidateFixture("c-d1"),
      );
      await store.validateEntry(entry.seq, "g2", true, T);
      assert.equal(await store.deleteEntry("u2", "d1", "c-d1", T), undefined, "another user's id deletes nothing");
      const gone = await store.deleteEntry("u1", "d1", "c-d1", T);
      assert.equal(gone?.entry.id, "d1");
      assert.equal(gone?.letheDropped, true);
      assert.equal(await store.getEntry("d1", T), undefined);
      assert.equal((await store.searchText("zebra", { userId: "u1", cladeOnly: false, now: T }, 10)).length, 0, "its text is gone");
      assert.equal((await store.dueLethe(T + 5000, 10)).length, 0, "its queued copy is gone");
      assert.equal(await store.deleteEntry("u1", "d1", "c-d1", T), undefined);
      const plain = await store.insert(entryFixture("d2"));
      assert.equal((await store.deleteEntry("u1", "d2", "c-none", T))?.letheDropped, false);
      assert.equal(await store.validateEntry(plain.entry.seq, "g2", true, T), undefined, "a deleted entry takes no vote");
    });

    it("validateEntry counts a golem's first vote only", async () => {
      const { entry } = await store.insert(entryFixture("v1"));
      const a = await store.validateEntry(entry.seq, "g2", true, T);
      assert.deepEqual([a?.counted, a?.entry.validations, a?.entry.contradictions], [true, 1, 0]);
      const again = await store.validateEntry(entry.seq, "g2", false, T);
      assert.deepEqual([again?.counted, again?.entry.validations, again?.entry.contradictions], [false, 1, 0]);
      const b = await store.validateEntry(entry.seq, "g3", false, T);
      assert.deepEqual([b?.counted, b?.entry.validations, b?.entry.contradictions], [true, 1, 1]);
      assert.equal((await store.getEntry("v1", T))?.contradictions, 1);
    });

    it("getLetheById and validateLethe count one vote per source", async () => {
      await store.insert(entryFixture("src"), candidateFixture("L1"));
      const published = await store.publishLethe(candidateFixture("L1"), "h-L1", T);
      assert.ok(published);
      assert.equal((await store.getLetheById("L1"))?.seq, published.seq);
      assert.equal(await store.getLetheById("nope"), undefined);
      const a = await store.validateLethe(published.seq, "src-b", true, T);
      const again = await store.validateLethe(published.seq, "src-b", true, T);
      const c = await store.validateLethe(published.seq, "src-c", false, T);
      assert.deepEqual([a?.counted, again?.counted, c?.counted, c?.entry.validations, c?.entry.contradictions], [true, false, true, 1, 1]);
      assert.equal(await store.validateLethe(published.seq + 1000, "src-b", true, T), undefined);
    });
  });
}
