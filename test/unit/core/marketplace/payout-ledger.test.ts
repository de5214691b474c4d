import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryMarketplaceStore } from "../../../../src/adapters/memory/memory-marketplace-store.js";
import { PayoutLedger } from "../../../../src/core/marketplace/payout-ledger.js";
import type { PaymentRecord, PaymentStatus } from "../../../../src/core/payments/ledger.js";
import { ManualClock } from "../../../../src/core/platform/clock.js";
import { listingFixture, purchaseFixture } from "../../../../src/testing/contracts/marketplace-store.contract.js";

/** A ledger over a memory store and payments whose statuses the test sets. */
function setup(threshold = 1_000_000) {
  const clock = new ManualClock();
  const store = new MemoryMarketplaceStore();
  const statuses = new Map<string, PaymentStatus>();
  const audits: string[] = [];
  const ledger = new PayoutLedger({
    store,
    payments: { get: async (id) => (statuses.has(id) ? ({ id, status: statuses.get(id) } as PaymentRecord) : undefined) },
    audit: { append: async (a) => void audits.push(a.action) as never },
    bus: { publish: async () => ({}) as never },
    clock,
    settings: { payoutThreshold: threshold, payoutIntervalMs: 86_400_000, retentionMs: 90 * 86_400_000 },
  });
  return { clock, store, statuses, audits, ledger };
}

describe("PayoutLedger", () => {
  it("reconciles pending purchases from their payments: settled → payable, failed or voided → revoked, others left", async () => {
    const { store, statuses, ledger } = setup();
    const l = listingFixture("l1", { price: 100 });
    await store.createListing(l, 100);
    for (const [id, buyer, status] of [
      ["a", "b1", "settled"],
      ["b", "b2", "failed"],
      ["c", "b3", "voided"],
      ["d", "b4", "accepted"],
    ] as const) {
      await store.createPurchase(purchaseFixture(id, l, buyer));
      statuses.set(`pay_${id}`, status);
    }
    assert.deepEqual(await ledger.reconcile(), { settled: 1, revoked: 2 });
    assert.deepEqual(await store.sellerTotals("usr_seller"), { pending: 100, payable: 100, due: 0, paid: 0 });
    assert.equal((await store.getPurchase("b"))?.state, "revoked");
    assert.equal((await store.getPurchase("d"))?.state, "pending");
  });

  it("makes a payout at once past the threshold, and for every payable amount once the interval passed", async () => {
    const { clock, store, ledger } = setup(150);
    const big = listingFixture("l1", { price: 200, userId: "rich" });
    const small = listingFixture("l2", { price: 50, userId: "poor" });
    await store.createListing(big, 100);
    await store.createListing(small, 100);
    await store.createPurchase(purchaseFixture("p1", big, "b1"));
    await store.createPurchase(purchaseFixture("p2", small, "b1"));
    await ledger.onPayment("pay_p1", "settled");
    await ledger.onPayment("pay_p2", "settled");
    assert.deepEqual(
      (await ledger.runPayouts()).map((p) => [p.sellerUserId, p.amount]),
      [["rich", 200]],
    );
    assert.deepEqual(await ledger.runPayouts(), [], "nothing new");
    clock.advance(86_400_000);
    assert.deepEqual(
      (await ledger.runPayouts()).map((p) => [p.sellerUserId, p.amount]),
      [["poor", 50]],
    );
  });

  it("records a payout paid once, audited; unknown → 404, twice → 409", async () => {
    const { store, ledger, audits } = setup(1);
    const l = listingFixture("l1", { price: 10 });
    await store.createListing(l, 100);
    await store.createPurchase(purchaseFixture("p1", l, "b1"));
    await ledger.onPayment("pay_p1", "settled");
    const [payout] = await ledger.runPayouts();
    assert.ok(payout);
    assert.equal((await ledger.markPaid(payout.id, "0xabc")).status, "paid");
    await assert.rejects(ledger.markPaid(payout.id, "0xabc"), { code: "STYX_CONFLICT" });
    await assert.rejects(ledger.markPaid("pout_none", "0xabc"), { code: "STYX_NOT_FOUND" });
    assert.deepEqual(audits, ["marketplace.payout.paid"]);
    assert.deepEqual(await store.sellerTotals("usr_seller"), { pending: 0, payable: 0, due: 0, paid: 10 });
  });
});
