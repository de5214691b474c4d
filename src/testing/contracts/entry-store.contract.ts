import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { EntryFilter, EntryStore, VectorBatch } from "../../core/knowledge/entry-store.js";
import type { LetheCandidate } from "../../core/knowledge/types.js";
import { candidateFixture, entryFixture, T } from "./entry-fixtures.js";
import { describeEntryBlobsContract } from "./entry-store-blobs.contract.js";
import { describeLetheKContract } from "./entry-store-k.contract.js";
import { describeEntryRecordsContract } from "./entry-store-records.contract.js";

export { candidateFixture, entryFixture } from "./entry-fixtures.js";

function filter(extra: Partial<EntryFilter> = {}): EntryFilter {
  return { userId: "u1", cladeOnly: false, now: T, ...extra };
}

async function collect(it: AsyncIterable<VectorBatch>): Promise<VectorBatch[]> {
  const out: VectorBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** Seqs per namespace over all batches, in the order they came. */
function byNamespace(batches: readonly VectorBatch[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const b of batches) out[b.namespace] = [...(out[b.namespace] ?? []), ...b.seqs];
  return out;
}

/**
 * The behaviour every EntryStore adapter must show: writes, search, vectors and the lethe queue
 * here; k-anonymity of lethe domains and single-entry records (get, list, delete, validate) in
 * their own files, run from here so every adapter's suite runs them all.
 */
export function describeEntryStoreContract(name: string, make: () => Promise<EntryStore> | EntryStore): void {
  describeLetheKContract(name, make);
  describeEntryRecordsContract(name, make);
  describeEntryBlobsContract(name, make);
  describe(`EntryStore contract: ${name}`, () => {
    let store: EntryStore;
    beforeEach(async () => {
      store = await make();
    });

    /** Queues a candidate the way the knowledge service does: with its source entry. */
    async function queue(c: LetheCandidate): Promise<void> {
      await store.insert(entryFixture(`src-${c.id}`), c);
    }

    it("counts a user's stored bytes: UTF-8 content plus metadata JSON, nobody else's", async () => {
      assert.equal(await store.storedBytes("u1"), 0);
      await store.insert(entryFixture("b1", { content: "héllo", metadata: { k: "ü" } }));
      await store.insert(entryFixture("b2", { content: "abc", metadata: {} }));
      await store.insert(entryFixture("b3", { userId: "u2", content: "elsewhere" }));
      const expected = Buffer.byteLength("héllo") + Buffer.byteLength(JSON.stringify({ k: "ü" })) + 3 + 2;
      assert.equal(await store.storedBytes("u1"), expected);
      assert.equal(await store.storedBytes("u3"), 0);
    });

    it("stores an entry under a new seq and returns it as written", async () => {
      const e = entryFixture("e1", {
        embedding: new Float32Array([0.6, 0.8]),
        affect: { pleasure: 0.5, arousal: -0.25, dominance: 0 },
        metadata: { pair: "ETH/USDC", n: 3 },
        isBloodstain: true,
        expiresAt: T + 1000,
        letheAt: T + 500,
        idempotencyKey: "k1",
      });
      const { entry, created } = await store.insert(e);
      assert.equal(created, true);
      assert.ok(entry.seq > 0, "seq is positive");
      assert.deepEqual(await store.getEntry(entry.id, T), { ...e, seq: entry.seq });
      // A query's read: exactly the fields it ranks and answers with, nothing else.
      assert.deepEqual(await store.getBySeqs([entry.seq], filter()), [
        {
          id: e.id,
          seq: entry.seq,
          golemId: e.golemId,
          category: e.category,
          content: e.content,
          contentHash: e.contentHash,
          embedding: e.embedding,
          domain: e.domain,
          regime: e.regime,
          confidence: e.confidence,
          isBloodstain: e.isBloodstain,
          validations: e.validations,
          contradictions: e.contradictions,
          createdAt: e.createdAt,
        },
      ]);
    });

    it("writes nothing for a repeated idempotency key and returns the first entry", async () => {
      const first = await store.insert(entryFixture("e1", { idempotencyKey: "k" }));
      const again = await store.insert(entryFixture("e2", { idempotencyKey: "k", content: "other" }), candidateFixture("c2"));
      assert.equal(again.created, false);
      assert.deepEqual(again.entry, first.entry);
      assert.equal((await store.findByIdempotencyKey("u1", "k"))?.id, "e1");
      assert.deepEqual(await store.dueLethe(T + 5000, 10), [], "the repeat's candidate is not queued");
      const otherUser = await store.insert(entryFixture("e3", { userId: "u2", idempotencyKey: "k" }));
      assert.equal(otherUser.created, true);
    });

    it("insertMany stores a batch in order and resolves a repeat inside it to the first", async () => {
      const out = await store.insertMany([
        { entry: entryFixture("a", { idempotencyKey: "k" }), lethe: candidateFixture("ca") },
        { entry: entryFixture("b", { idempotencyKey: "k" }), lethe: candidateFixture("cb") },
        { entry: entryFixture("c") },
      ]);
      assert.deepEqual(
        out.map((o) => [o.entry.id, o.created]),
        [
          ["a", true],
          ["a", false],
          ["c", true],
        ],
      );
      assert.ok((out[0]?.entry.seq ?? 0) < (out[2]?.entry.seq ?? 0), "seqs follow the batch order");
      assert.deepEqual(
        (await store.dueLethe(T + 5000, 10)).map((c) => c.id),
        ["ca"],
      );
    });

    it("insertMany writes nothing when one item fails", async () => {
      await store.insert(entryFixture("taken"));
      const before = await store.seqMarks();
      await assert.rejects(
        store.insertMany([
          { entry: entryFixture("fresh", { idempotencyKey: "kf" }), lethe: candidateFixture("cf") },
          { entry: entryFixture("taken", { idempotencyKey: "kt" }) },
        ]),
      );
      assert.equal(await store.findByIdempotencyKey("u1", "kf"), undefined);
      assert.deepEqual(await store.dueLethe(T + 5000, 10), []);
      assert.deepEqual(await store.seqMarks(), before);
    });

    it("getBySeqs returns only the tenant's live entries, and only promoted ones when cladeOnly", async () => {
      const seqs: Record<string, number> = {};
      for (const e of [
        entryFixture("promoted", { inClade: true }),
        entryFixture("private"),
        entryFixture("expiring", { expiresAt: T + 10 }),
        entryFixture("theirs", { userId: "u2" }),
      ]) {
        seqs[e.id] = (await store.insert(e)).entry.seq;
      }
      const all = Object.values(seqs);
      const ids = async (f: EntryFilter) => (await store.getBySeqs(all, f)).map((e) => e.id).sort();
      assert.deepEqual(await ids(filter({ now: T + 9 })), ["expiring", "private", "promoted"]);
      assert.deepEqual(await ids(filter({ now: T + 10 })), ["private", "promoted"]);
      assert.deepEqual(await ids(filter({ cladeOnly: true })), ["promoted"]);
      assert.deepEqual(await ids(filter({ userId: "u2" })), ["theirs"]);
      assert.deepEqual(await store.getBySeqs([], filter()), []);
    });

    it("getBySeqs applies the domain and category lists", async () => {
      const a = (await store.insert(entryFixture("a", { domain: "dex", category: "warning" }))).entry.seq;
      const b = (await store.insert(entryFixture("b", { domain: "lending", category: "insight" }))).entry.seq;
      const c = (await store.insert(entryFixture("c", { domain: null, category: "warning" }))).entry.seq;
      const ids = async (f: EntryFilter) => (await store.getBySeqs([a, b, c], f)).map((e) => e.id).sort();
      assert.deepEqual(await ids(filter({ domains: ["dex", "lending"] })), ["a", "b"]);
      assert.deepEqual(await ids(filter({ categories: ["warning"] })), ["a", "c"]);
      assert.deepEqual(await ids(filter({ domains: ["dex"], categories: ["insight"] })), []);
      assert.deepEqual(await ids(filter({ domains: [], categories: [] })), ["a", "b", "c"]);
    });

    it("searchText ranks entries matching more of the words first, with relevance above 0", async () => {
      const both = (await store.insert(entryFixture("both", { content: "Slippage spikes when liquidity thins." }))).entry.seq;
      const one = (await store.insert(entryFixture("one", { content: "Liquidity moved to another pool." }))).entry.seq;
      await store.insert(entryFixture("none", { content: "Gas was cheap on Sunday." }));
      const hits = await store.searchText("liquidity slippage", filter(), 10);
      assert.deepEqual(
        hits.map((h) => h.seq),
        [both, one],
      );
      assert.ok(
        hits.every((h) => h.relevance > 0),
        "relevance is positive",
      );
      assert.ok((hits[0]?.relevance ?? 0) > (hits[1]?.relevance ?? 0), "the better match has the higher relevance");
      assert.deepEqual(await store.searchText("?!", filter(), 10), []);
      assert.equal((await store.searchText("liquidity slippage", filter(), 1)).length, 1);
    });

    it("searchText honours the tenant, clade, expiry and list filters", async () => {
      const mine = (await store.insert(entryFixture("mine", { content: "oracle lag", inClade: true }))).entry.seq;
      const priv = (await store.insert(entryFixture("priv", { content: "oracle drift", domain: "lending" }))).entry.seq;
      await store.insert(entryFixture("gone", { content: "oracle stale", expiresAt: T }));
      const theirs = (await store.insert(entryFixture("theirs", { userId: "u2", content: "oracle lag" }))).entry.seq;
      const seqs = async (f: EntryFilter) => (await store.searchText("oracle", f, 10)).map((h) => h.seq).sort((x, y) => x - y);
      assert.deepEqual(await seqs(filter()), [mine, priv]);
      assert.deepEqual(await seqs(filter({ cladeOnly: true })), [mine]);
      assert.deepEqual(await seqs(filter({ domains: ["lending"] })), [priv]);
      assert.deepEqual(await seqs(filter({ categories: ["warning"] })), []);
      assert.deepEqual(await seqs(filter({ userId: "u2" })), [theirs]);
    });

    it("searchText scores a tenant's entries the same whatever other tenants store (SPEC §4.2)", async () => {
      const mine = ["oracle lag on the pool", "oracle oracle", "pool drift", "oracle pool pool hedge"];
      for (const [i, content] of mine.entries()) await store.insert(entryFixture(`m${i}`, { content, inClade: i % 2 === 0 }));
      const answers = async () =>
        Promise.all(
          ["oracle", "pool oracle", "drift hedge lag"].flatMap((q) => [
            store.searchText(q, filter(), 10),
            store.searchText(q, filter({ cladeOnly: true }), 10),
            store.searchText(q, filter(), 2),
          ]),
        );
      const alone = await answers();
      for (let i = 0; i < 30; i++) {
        const content = ["oracle", "pool", "oracle pool", "lag lag drift", "unrelated words"][i % 5] as string;
        await store.insert(entryFixture(`t${i}`, { userId: `u${2 + (i % 3)}`, content, inClade: i % 2 === 1 }));
      }
      assert.deepEqual(await answers(), alone);
    });

    it("getBySeqs and searchText keep a golem filter to that golem's entries (a golem credential's vault)", async () => {
      const own = (await store.insert(entryFixture("own", { content: "oracle lag" }))).entry.seq;
      const sibling = (await store.insert(entryFixture("sibling", { golemId: "g2", content: "oracle lag", inClade: true }))).entry.seq;
      const stranger = (await store.insert(entryFixture("stranger", { userId: "u2", golemId: "g9", content: "oracle lag" }))).entry.seq;
      const all = [own, sibling, stranger];
      const ids = async (f: EntryFilter) => (await store.getBySeqs(all, f)).map((e) => e.id).sort();
      assert.deepEqual(await ids(filter({ golemId: "g1" })), ["own"]);
      assert.deepEqual(await ids(filter({ golemId: "g2" })), ["sibling"]);
      assert.deepEqual(await ids(filter({ golemId: "g2", cladeOnly: true })), ["sibling"]);
      assert.deepEqual(await ids(filter({ golemId: "g9" })), [], "the tenant stays a hard filter");
      assert.deepEqual(await ids(filter({ userId: "u2", golemId: "g9" })), ["stranger"]);
      const seqs = async (f: EntryFilter) => (await store.searchText("oracle", f, 10)).map((h) => h.seq);
      assert.deepEqual(await seqs(filter({ golemId: "g1" })), [own]);
      assert.deepEqual(await seqs(filter({ golemId: "g2" })), [sibling]);
      assert.deepEqual(await seqs(filter({ golemId: "g3" })), []);
    });

    it("searchText scores a golem's entries the same whatever its siblings store (SPEC §3)", async () => {
      const mine = ["oracle lag on the pool", "oracle oracle", "pool drift", "oracle pool pool hedge"];
      for (const [i, content] of mine.entries()) await store.insert(entryFixture(`m${i}`, { content }));
      const answers = async () =>
        Promise.all(["oracle", "pool oracle", "drift hedge lag"].map((q) => store.searchText(q, filter({ golemId: "g1" }), 10)));
      const alone = await answers();
      for (let i = 0; i < 30; i++) {
        const content = ["oracle", "pool", "oracle pool", "lag lag drift", "unrelated words"][i % 5] as string;
        await store.insert(entryFixture(`s${i}`, { golemId: `g${2 + (i % 3)}`, content }));
      }
      assert.deepEqual(await answers(), alone);
    });

    it("searchText breaks relevance ties by seq, older first", async () => {
      const a = (await store.insert(entryFixture("a", { content: "oracle lag" }))).entry.seq;
      await store.insert(entryFixture("other", { userId: "u2", content: "oracle lag" }));
      const b = (await store.insert(entryFixture("b", { content: "lag oracle" }))).entry.seq;
      const hits = await store.searchText("oracle", filter(), 10);
      assert.deepEqual(
        hits.map((h) => h.seq),
        [a, b],
      );
      assert.equal(hits[0]?.relevance, hits[1]?.relevance);
    });

    it("golemEntrySeq finds the seq of a golem's own entry only", async () => {
      const s1 = (await store.insert(entryFixture("g1a"))).entry.seq;
      await store.insert(entryFixture("g2a", { golemId: "g2" }));
      assert.equal(await store.golemEntrySeq("g1", "g1a"), s1);
      assert.equal(await store.golemEntrySeq("g2", "g1a"), undefined);
      assert.equal(await store.golemEntrySeq("g1", "nope"), undefined);
    });

    it("pageGolemEntries pages a golem's live entries oldest first", async () => {
      const s1 = (await store.insert(entryFixture("g1a"))).entry.seq;
      await store.insert(entryFixture("other", { golemId: "g2" }));
      const s2 = (await store.insert(entryFixture("g1b"))).entry.seq;
      await store.insert(entryFixture("g1dead", { expiresAt: T }));
      const s3 = (await store.insert(entryFixture("g1c"))).entry.seq;
      const page = async (after: number) => (await store.pageGolemEntries("g1", after, 2, T)).map((e) => e.seq);
      assert.deepEqual(await page(0), [s1, s2]);
      assert.deepEqual(await page(s2), [s3]);
      assert.deepEqual(await page(s3), []);
    });

    it("purgeExpired deletes expired entries and reports them once", async () => {
      const old = (await store.insert(entryFixture("old", { expiresAt: T + 5, inClade: true }))).entry.seq;
      await store.insert(entryFixture("later", { expiresAt: T + 50 }));
      await store.insert(entryFixture("forever"));
      assert.deepEqual(await store.purgeExpired(T + 5), [{ seq: old, userId: "u1", inClade: true }]);
      assert.deepEqual(await store.purgeExpired(T + 5), []);
      assert.equal((await store.purgeExpired(T + 50)).length, 1);
    });

    it("scanVectors yields each namespace in batches and skips what `after` marks", async () => {
      const v = (x: number) => new Float32Array([x, 1 - x]);
      const e1 = (await store.insert(entryFixture("e1", { embedding: v(0.1), inClade: true }))).entry.seq;
      const e2 = (await store.insert(entryFixture("e2", { embedding: v(0.2) }))).entry.seq;
      await store.insert(entryFixture("textonly"));
      const e4 = (await store.insert(entryFixture("e4", { userId: "u2", embedding: v(0.4) }))).entry.seq;
      await queue(candidateFixture("c1", { embedding: v(0.5), domain: "lending" }));
      const l1 = await store.publishLethe(candidateFixture("c1", { embedding: v(0.5), domain: "lending" }), "h1", T);
      assert.ok(l1, "the candidate was published");
      const batches = await collect(store.scanVectors(2));
      assert.deepEqual(byNamespace(batches), {
        "vault:u1": [e1, e2],
        "clade:u1": [e1],
        "vault:u2": [e4],
        "lethe:lending": [l1.seq],
        lethe: [l1.seq],
      });
      for (const b of batches) {
        assert.ok(b.seqs.length <= 2, "a batch holds at most batchSize vectors");
        assert.equal(b.vectors.length, b.seqs.length * 2);
      }
      const vault = batches.find((b) => b.namespace === "vault:u1");
      assert.deepEqual(vault?.vectors.slice(0, 2), v(0.1));
      const rest = await collect(store.scanVectors(10, { entries: e2, lethe: l1.seq }));
      assert.deepEqual(byNamespace(rest), { "vault:u2": [e4] });
    });

    it("seqMarks start at 0 and track the highest seq of entries and of lethe entries", async () => {
      assert.deepEqual(await store.seqMarks(), { entries: 0, lethe: 0 });
      await queue(candidateFixture("c1"));
      const l = await store.publishLethe(candidateFixture("c1"), "h1", T);
      const e = (await store.insert(entryFixture("e9"))).entry.seq;
      assert.deepEqual(await store.seqMarks(), { entries: e, lethe: l?.seq });
    });

    it("dueLethe lists due candidates oldest due first, and nextLetheDue is the earliest", async () => {
      assert.equal(await store.nextLetheDue(), undefined);
      const c2 = candidateFixture("c2", { dueAt: T + 10, embedding: new Float32Array([1, 0]), metadata: { pair: "x" } });
      await queue(candidateFixture("c3", { dueAt: T + 30 }));
      await queue(c2);
      await queue(candidateFixture("c1", { dueAt: T + 20 }));
      assert.equal(await store.nextLetheDue(), T + 10);
      const due = await store.dueLethe(T + 20, 10);
      assert.deepEqual(
        due.map((c) => c.id),
        ["c2", "c1"],
      );
      assert.deepEqual(due[0], c2);
      assert.equal((await store.dueLethe(T + 30, 1)).length, 1);
    });

    it("publishLethe publishes a candidate once, even when two calls race", async () => {
      const c = candidateFixture("c1", { isBloodstain: true, metadata: { pair: "ETH/USDC" }, embedding: new Float32Array([0, 1]) });
      await queue(c);
      const results = await Promise.all([store.publishLethe(c, "h1", T + 7), store.publishLethe(c, "h1", T + 7)]);
      const published = results.filter((r) => r !== undefined);
      assert.equal(published.length, 1);
      const l = published[0];
      assert.equal(l?.contentHash, "h1");
      assert.deepEqual(l?.sources, ["src-a"]);
      assert.deepEqual(l?.confirmationConfidences, [0.4]);
      assert.equal(l?.bloodstainConfirmed, true);
      assert.equal(l?.updatedAt, T + 7);
      assert.deepEqual(l?.embedding, c.embedding);
      assert.deepEqual(l?.metadata, { pair: "ETH/USDC" });
      assert.equal(await store.nextLetheDue(), undefined);
      assert.equal(await store.publishLethe(c, "h1", T + 8), undefined);
    });

    it("reinforceLethe adds a new source once, dequeues the candidate, and ignores a gone one", async () => {
      await queue(candidateFixture("c1"));
      const l = await store.publishLethe(candidateFixture("c1"), "h1", T);
      assert.ok(l, "published");
      await queue(candidateFixture("c2", { source: "src-b" }));
      await queue(candidateFixture("c3", { source: "src-b" }));
      const r = await store.reinforceLethe("c2", l.seq, { source: "src-b", confidence: 0.7, fromBloodstain: true, at: T + 9 });
      assert.deepEqual(r?.sources, ["src-a", "src-b"]);
      assert.deepEqual(r?.confirmationConfidences, [0.4, 0.7]);
      assert.equal(r?.bloodstainConfirmed, true);
      assert.equal(r?.updatedAt, T + 9);
      const same = await store.reinforceLethe("c3", l.seq, { source: "src-b", confidence: 0.9, fromBloodstain: false, at: T + 10 });
      assert.deepEqual(same?.sources, ["src-a", "src-b"]);
      assert.deepEqual(same?.confirmationConfidences, [0.4, 0.7]);
      assert.equal(same?.bloodstainConfirmed, true);
      assert.equal(await store.reinforceLethe("c2", l.seq, { source: "src-c", confidence: 1, fromBloodstain: false, at: T }), undefined);
      assert.deepEqual(await store.dueLethe(T + 5000, 10), []);
    });

    it("finds lethe entries by hash and seq, searches their text, and lists their domains", async () => {
      const publish = async (id: string, domain: string, content: string, category: LetheCandidate["category"] = "insight") => {
        const c = candidateFixture(id, { domain, content, category });
        await queue(c);
        const l = await store.publishLethe(c, `h-${id}`, T);
        assert.ok(l, `${id} was published`);
        return l.seq;
      };
      const a = await publish("a", "dex", "sandwich attacks follow large swaps", "warning");
      const b = await publish("b", "lending", "large liquidations cluster");
      await publish("c", "dex", "fees were flat");
      assert.equal((await store.findLetheByHash("dex", "h-a"))?.seq, a);
      assert.equal(await store.findLetheByHash("lending", "h-a"), undefined);
      assert.deepEqual((await store.getLetheBySeqs([a, b], {})).map((l) => l.id).sort(), ["a", "b"]);
      assert.deepEqual(
        (await store.getLetheBySeqs([a, b], { domains: ["lending"] })).map((l) => l.id),
        ["b"],
      );
      assert.deepEqual(
        (await store.searchLetheText("large swaps", {}, 10)).map((h) => h.seq),
        [a, b],
      );
      assert.deepEqual(
        (await store.searchLetheText("large", { categories: ["warning"] }, 10)).map((h) => h.seq),
        [a],
      );
      assert.ok(
        (await store.searchLetheText("large", {}, 10)).every((h) => h.relevance > 0),
        "lethe relevance is positive",
      );
      assert.deepEqual(await store.letheDomains(), ["dex", "lending"]);
    });
  });
}
