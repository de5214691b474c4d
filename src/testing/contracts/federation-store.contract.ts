import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { FederationStore, OutboxEntry } from "../../core/federation/federation-store.js";
import { causalRecord, FED_ORIGIN, letheRecord, linkFixture, pheromoneRecord, FED_T0 as T } from "./federation-fixtures.js";

/** A federation store under test, with the way outbox rows get into it (the fact stores' path). */
export interface FederationStoreHarness {
  readonly store: FederationStore;
  /** Writes an outbox row as a fact store does in its write's transaction. */
  enqueue(entry: OutboxEntry): Promise<void> | void;
  /** A second store on the same data (another process or gateway), when the adapter has one. */
  readonly twin?: FederationStore;
  close?(): Promise<void>;
}

/** The behaviour every FederationStore must show (SPEC §17 on the store's side; obligations in federation-store.ts). */
export function describeFederationStoreContract(name: string, make: () => Promise<FederationStoreHarness> | FederationStoreHarness): void {
  describe(`FederationStore contract: ${name}`, () => {
    let h: FederationStoreHarness;
    let store: FederationStore;
    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.close?.();
    });

    it("records a link at hello, replaces it at the next hello of the key, and notes when it was last heard from", async () => {
      assert.equal(await store.link("k1"), undefined);
      await store.saveLink(linkFixture("k1"));
      await store.saveLink(linkFixture("k2", { userId: "u_other", flows: [], domains: ["*"] }));
      assert.deepEqual(await store.link("k1"), linkFixture("k1"));
      await store.saveLink(linkFixture("k1", { version: "1.1.0", domains: ["defi"], helloAt: T + 5, lastSeenAt: T + 5 }));
      await store.touchLink("k1", T + 9);
      await store.touchLink("k-never", T + 9);
      assert.deepEqual(
        await store.link("k1"),
        linkFixture("k1", { version: "1.1.0", domains: ["defi"], helloAt: T + 5, lastSeenAt: T + 9 }),
      );
      const all = (await store.links()).sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
      assert.deepEqual(all, [
        linkFixture("k1", { version: "1.1.0", domains: ["defi"], helloAt: T + 5, lastSeenAt: T + 9 }),
        linkFixture("k2", { userId: "u_other", flows: [], domains: ["*"] }),
      ]);
      assert.equal(await store.link("k-never"), undefined);
    });

    it("claims an (origin, id) once, until it is released", async () => {
      assert.equal(await store.claim(FED_ORIGIN, "r1", T), true);
      assert.equal(await store.claim(FED_ORIGIN, "r1", T + 1), false);
      assert.equal(await store.claim(FED_ORIGIN, "r2", T), true, "another id");
      assert.equal(await store.claim("sx_ffffffffffffffff", "r1", T), true, "another origin");
      await store.release(FED_ORIGIN, "r1");
      assert.equal(await store.claim(FED_ORIGIN, "r1", T + 2), true, "released, it may come again");
      assert.equal(await store.claim(FED_ORIGIN, "r2", T + 2), false, "the other claims stay");
    });

    it("answers true to exactly one of concurrent claims of a pair, from this store and its twin", async () => {
      const twin = h.twin ?? store;
      for (const id of ["c1", "c2", "c3", "c4", "c5"]) {
        const got = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? twin : store).claim(FED_ORIGIN, id, T)));
        assert.equal(got.filter(Boolean).length, 1, `${id}: ${got.join(",")}`);
      }
    });

    it("forgets claims older than the window, and only those", async () => {
      await store.claim(FED_ORIGIN, "old1", T);
      await store.claim(FED_ORIGIN, "old2", T + 1);
      await store.claim(FED_ORIGIN, "new", T + 10);
      assert.equal(await store.forgetClaims(T + 10), 2);
      assert.equal(await store.claim(FED_ORIGIN, "old1", T + 11), true);
      assert.equal(await store.claim(FED_ORIGIN, "new", T + 11), false);
      assert.equal(await store.forgetClaims(T), 0);
    });

    it("keeps a cursor per stream that never moves back within an epoch, and follows a new epoch anywhere", async () => {
      assert.equal(await store.cursor("federation:defi"), undefined);
      await store.saveCursor("federation:defi", { epoch: "e1", seq: 10 });
      await store.saveCursor("federation:defi", { epoch: "e1", seq: 7 });
      assert.deepEqual(await store.cursor("federation:defi"), { epoch: "e1", seq: 10 });
      await store.saveCursor("federation:defi", { epoch: "e1", seq: 12 });
      assert.deepEqual(await store.cursor("federation:defi"), { epoch: "e1", seq: 12 });
      await store.saveCursor("federation:defi", { epoch: "e2", seq: 3 });
      assert.deepEqual(await store.cursor("federation:defi"), { epoch: "e2", seq: 3 });
      await store.saveCursor("federation:nft", { epoch: "e9", seq: 1 });
      assert.deepEqual(
        await store.cursors(),
        new Map([
          ["federation:defi", { epoch: "e2", seq: 3 }],
          ["federation:nft", { epoch: "e9", seq: 1 }],
        ]),
      );
    });

    it("lists due outbox items oldest first with their records as written, at most `limit`", async () => {
      const records = [pheromoneRecord("p1"), letheRecord("l1"), causalRecord("c1"), pheromoneRecord("p2", { hv: null })];
      for (const [i, record] of records.entries()) await h.enqueue({ record, enqueuedAt: T + i, up: true, down: false });
      await h.enqueue({ record: pheromoneRecord("later"), enqueuedAt: T + 100, up: true, down: false });
      const due = await store.due(T + 50, 10);
      assert.deepEqual(
        due.map((i) => i.record),
        records,
      );
      assert.deepEqual(
        due.map((i) => [i.enqueuedAt, i.nextAt, i.attempts]),
        records.map((_, i) => [T + i, T + i, 0]),
      );
      const seqs = due.map((i) => i.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(new Set(seqs).size, seqs.length);
      assert.deepEqual(
        (await store.due(T + 50, 2)).map((i) => i.record.id),
        ["p1", "l1"],
      );
      assert.deepEqual(await store.due(T + 50, 0), []);
      assert.equal((await store.due(T + 100, 10)).length, 5);
      assert.equal(await store.depth(), 5);
    });

    it("acks items away and defers retried ones, counting each attempt", async () => {
      for (const id of ["a", "b", "c"]) await h.enqueue({ record: causalRecord(id), enqueuedAt: T, up: true, down: false });
      const [a, b, c] = await store.due(T, 10);
      assert.ok(a && b && c);
      await store.ack([a.seq]);
      await store.ack([]);
      await store.retry([b.seq], T + 60_000);
      await store.retry([], T);
      assert.deepEqual(
        (await store.due(T + 1, 10)).map((i) => i.record.id),
        ["c"],
      );
      await store.retry([b.seq, c.seq], T + 120_000);
      const later = await store.due(T + 120_000, 10);
      assert.deepEqual(
        later.map((i) => [i.record.id, i.attempts, i.nextAt]),
        [
          ["b", 2, T + 120_000],
          ["c", 1, T + 120_000],
        ],
      );
      assert.equal(await store.depth(), 2);
      await store.ack([b.seq, c.seq]);
      assert.equal(await store.depth(), 0);
      assert.deepEqual(await store.due(T + 1e9, 10), []);
    });

    it("drops items enqueued before a time and answers how many of each kind went", async () => {
      await h.enqueue({ record: pheromoneRecord("p1"), enqueuedAt: T, up: true, down: false });
      await h.enqueue({ record: pheromoneRecord("p2"), enqueuedAt: T + 1, up: true, down: false });
      await h.enqueue({ record: letheRecord("l1"), enqueuedAt: T + 2, up: true, down: false });
      await h.enqueue({ record: causalRecord("c1"), enqueuedAt: T + 10, up: true, down: false });
      const dropped = await store.drop(T + 10);
      assert.deepEqual(
        new Map(dropped),
        new Map([
          ["pheromone", 2],
          ["lethe", 1],
        ]),
      );
      assert.deepEqual(
        (await store.due(T + 10, 10)).map((i) => i.record.id),
        ["c1"],
      );
      assert.equal((await store.drop(T)).size, 0);
    });

    it("numbers new outbox items after acked ones, never reusing a seq", async () => {
      await h.enqueue({ record: causalRecord("x1"), enqueuedAt: T, up: true, down: false });
      const [first] = await store.due(T, 1);
      assert.ok(first);
      await store.ack([first.seq]);
      await h.enqueue({ record: causalRecord("x2"), enqueuedAt: T, up: true, down: false });
      const [second] = await store.due(T, 1);
      assert.ok(second && second.seq > first.seq, `${second?.seq} after ${first.seq}`);
    });

    it("keeps relay items apart from the outbox: oldest first, at most `limit`, deleted once relayed", async () => {
      await h.enqueue({ record: pheromoneRecord("down1"), enqueuedAt: T, up: false, down: true });
      await h.enqueue({ record: letheRecord("both"), enqueuedAt: T + 1, up: true, down: true });
      await h.enqueue({ record: causalRecord("up"), enqueuedAt: T + 2, up: true, down: false });
      await h.enqueue({ record: causalRecord("down2"), enqueuedAt: T + 3, up: false, down: true });
      assert.deepEqual(
        (await store.due(T + 10, 10)).map((i) => i.record.id),
        ["both", "up"],
      );
      const items = await store.relayPending(10);
      assert.deepEqual(
        items.map((i) => [i.record, i.enqueuedAt]),
        [
          [pheromoneRecord("down1"), T],
          [letheRecord("both"), T + 1],
          [causalRecord("down2"), T + 3],
        ],
      );
      assert.deepEqual(
        (await store.relayPending(1)).map((i) => i.record.id),
        ["down1"],
      );
      assert.equal(await store.relayDepth(), 3);
      await store.relayed(items.slice(0, 2).map((i) => i.seq));
      assert.deepEqual(
        (await store.relayPending(10)).map((i) => i.record.id),
        ["down2"],
      );
      assert.equal(await store.depth(), 2, "the outbox is untouched");
      assert.equal(await (h.twin ?? store).relayDepth(), 1);
    });
  });
}
