import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { EntryStore } from "../../core/knowledge/entry-store.js";
import { entryFixture, T } from "./entry-fixtures.js";

const CID_A = `b3:${"a".repeat(64)}`;
const CID_B = `b3:${"b".repeat(64)}`;

/** Blob references of entries (SPEC §10): counted from the entries, orphan marks set with removals, as every EntryStore adapter must keep them. */
export function describeEntryBlobsContract(name: string, make: () => Promise<EntryStore> | EntryStore): void {
  describe(`EntryStore contract (blob references): ${name}`, () => {
    let store: EntryStore;
    beforeEach(async () => {
      store = await make();
    });

    const orphans = async (before = Number.MAX_SAFE_INTEGER) =>
      (await store.blobOrphans(before, 100)).map((o) => `${o.userId} ${o.cid.slice(0, 4)} ${o.since - T}`);

    it("blobReferences counts the user's live entries naming the cid, no one else's and no expired one", async () => {
      await store.insert(entryFixture("e1", { contentBlob: CID_A }));
      await store.insert(entryFixture("e2", { contentBlob: CID_A, expiresAt: T + 10 }));
      await store.insert(entryFixture("e3", { contentBlob: CID_B }));
      await store.insert(entryFixture("x1", { userId: "u2", contentBlob: CID_A }));
      assert.equal(await store.blobReferences("u1", CID_A, T), 2);
      assert.equal(await store.blobReferences("u1", CID_A, T + 10), 1, "an expired entry references nothing");
      assert.equal(await store.blobReferences("u1", CID_B, T), 1);
      assert.equal(await store.blobReferences("u2", CID_A, T), 1);
      assert.equal(await store.blobReferences("u3", CID_A, T), 0);
    });

    it("deleteEntry marks the blob orphaned only when its last entry of the user goes", async () => {
      await store.insert(entryFixture("e1", { contentBlob: CID_A }));
      await store.insert(entryFixture("e2", { contentBlob: CID_A }));
      await store.insert(entryFixture("x1", { userId: "u2", contentBlob: CID_A }));
      await store.insert(entryFixture("plain"));
      await store.deleteEntry("u1", "plain", "c-none", T + 1);
      await store.deleteEntry("u1", "e1", "c-none", T + 2);
      assert.deepEqual(await orphans(), [], "e2 still names it");
      await store.deleteEntry("u1", "e2", "c-none", T + 3);
      assert.deepEqual(await orphans(), ["u1 b3:a 3"], "u2's entry does not keep u1's reference");
      assert.equal(await store.blobReferences("u2", CID_A, T), 1);
    });

    it("purgeExpired marks the blobs whose last entries it removed, at its time", async () => {
      await store.insert(entryFixture("e1", { contentBlob: CID_A, expiresAt: T + 5 }));
      await store.insert(entryFixture("e2", { contentBlob: CID_A, expiresAt: T + 6 }));
      await store.insert(entryFixture("e3", { contentBlob: CID_B, expiresAt: T + 5 }));
      await store.insert(entryFixture("e4", { contentBlob: CID_B }));
      await store.insert(entryFixture("x1", { userId: "u2", contentBlob: CID_B, expiresAt: T + 5 }));
      await store.purgeExpired(T + 5);
      assert.deepEqual(await orphans(), ["u2 b3:b 5"], "e2 keeps a, e4 keeps b for u1");
      await store.purgeExpired(T + 9);
      assert.deepEqual(await orphans(), ["u2 b3:b 5", "u1 b3:a 9"]);
    });

    it("a later removal moves the mark; blobOrphans returns the due ones, oldest first", async () => {
      await store.insert(entryFixture("e1", { contentBlob: CID_A }));
      await store.insert(entryFixture("e2", { contentBlob: CID_B }));
      await store.deleteEntry("u1", "e1", "c-none", T + 1);
      await store.deleteEntry("u1", "e2", "c-none", T + 2);
      await store.insert(entryFixture("e3", { contentBlob: CID_A }));
      await store.deleteEntry("u1", "e3", "c-none", T + 7);
      assert.deepEqual(await orphans(T + 2), ["u1 b3:b 2"], "a's mark moved to T+7");
      assert.deepEqual(await orphans(), ["u1 b3:b 2", "u1 b3:a 7"]);
      assert.deepEqual(await store.blobOrphans(Number.MAX_SAFE_INTEGER, 1), [{ userId: "u1", cid: CID_B, since: T + 2 }]);
    });

    it("dropBlobOrphan removes a mark, with `since` only the mark still set then", async () => {
      await store.insert(entryFixture("e1", { contentBlob: CID_A }));
      await store.insert(entryFixture("e2", { contentBlob: CID_B }));
      await store.deleteEntry("u1", "e1", "c-none", T + 1);
      await store.deleteEntry("u1", "e2", "c-none", T + 1);
      assert.equal(await store.dropBlobOrphan("u1", CID_A, T), false, "moved since: kept");
      assert.equal(await store.dropBlobOrphan("u2", CID_A), false, "another user's mark is apart");
      assert.equal(await store.dropBlobOrphan("u1", CID_A, T + 1), true);
      assert.equal(await store.dropBlobOrphan("u1", CID_B), true);
      assert.equal(await store.dropBlobOrphan("u1", CID_B), false);
      assert.deepEqual(await orphans(), []);
    });
  });
}
