import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { QuotaStore } from "../../core/quota/quota-store.js";

/**
 * The behaviour every QuotaStore must show; `make` returns two handles on one empty storage
 * (two gateways of one cluster, or the same store twice where it lives in one process).
 */
export function describeQuotaStoreContract(name: string, make: () => Promise<readonly [QuotaStore, QuotaStore]>): void {
  describe(`QuotaStore contract: ${name}`, () => {
    it("has no override and no blob bytes for a user never seen", async () => {
      const [a] = await make();
      assert.equal(await a.getOverride("usr_none"), undefined);
      assert.equal(await a.blobBytes("usr_none"), 0);
    });

    it("sets an override whole, the other handle reads it, and clearing leaves none", async () => {
      const [a, b] = await make();
      await a.setOverride("usr_1", { rate: 5, burst: 9, quotas: { stored_bytes: 1000, deposits_per_minute: 0 } }, 1);
      assert.deepEqual(await b.getOverride("usr_1"), { rate: 5, burst: 9, quotas: { stored_bytes: 1000, deposits_per_minute: 0 } });
      await b.setOverride("usr_1", { quotas: { entries_per_day: 7 } }, 2);
      assert.deepEqual(await a.getOverride("usr_1"), { rate: undefined, burst: undefined, quotas: { entries_per_day: 7 } });
      await a.setOverride("usr_1", undefined, 3);
      assert.equal(await b.getOverride("usr_1"), undefined);
      assert.equal(await a.getOverride("usr_2"), undefined, "users are apart");
    });

    it("adds blob bytes atomically, kept beside the override", async () => {
      const [a, b] = await make();
      await a.setOverride("usr_1", { quotas: { stored_bytes: 10 } }, 1);
      await Promise.all([...Array(20).keys()].map((i) => (i % 2 ? a : b).addBlobBytes("usr_1", 100)));
      assert.equal(await b.blobBytes("usr_1"), 2000);
      assert.deepEqual((await a.getOverride("usr_1"))?.quotas, { stored_bytes: 10 }, "the override is untouched");
      await a.setOverride("usr_1", undefined, 2);
      assert.equal(await a.blobBytes("usr_1"), 2000, "clearing the override keeps the bytes");
      await a.addBlobBytes("usr_2", 5);
      assert.equal(await b.blobBytes("usr_2"), 5);
    });

    it("gives blob bytes back with a negative add, never below 0", async () => {
      const [a, b] = await make();
      await a.addBlobBytes("usr_1", 300);
      await b.addBlobBytes("usr_1", -100);
      assert.equal(await a.blobBytes("usr_1"), 200);
      await a.addBlobBytes("usr_1", -500);
      assert.equal(await b.blobBytes("usr_1"), 0, "a release counted twice stops at 0");
      await a.addBlobBytes("usr_new", -5);
      assert.equal(await a.blobBytes("usr_new"), 0);
    });
  });
}
