import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MarketplaceStore } from "../../core/marketplace/store.js";
import { type Listing, type Purchase, purchaseFee } from "../../core/marketplace/types.js";
import { prng } from "../prng.js";

/** A listing fixture (active, created at `createdAt`, expiring a day later). */
export function listingFixture(id: string, over: Partial<Listing> = {}): Listing {
  return {
    id,
    userId: "usr_seller",
    golemId: null,
    kind: "entries",
    title: "lending regimes",
    description: "what a golem learned about lending",
    preview: "three regimes of funding rates",
    domain: "defi.lending",
    price: 1_000_000,
    entryCount: 12,
    contentCid: `b3:${"a".repeat(64)}`,
    contentSize: 1234,
    contentB3: "b".repeat(64),
    escrowKid: "esc1",
    escrowWrappedCek: "wrapped",
    embedding: null,
    payoutAddress: "0x00000000000000000000000000000000000000bb",
    provenance: null,
    status: "active",
    createdAt: 1000,
    expiresAt: 1000 + 86_400_000,
    endedAt: null,
    purgedAt: null,
    sales: 0,
    ratingSum: 0,
    ratingCount: 0,
    ...over,
  };
}

/** A pending purchase fixture of `listing` by `buyer`, paid by payment `pay_<id>`. */
export function purchaseFixture(id: string, listing: Listing, buyer: string, over: Partial<Purchase> = {}): Purchase {
  return {
    id,
    listingId: listing.id,
    sellerUserId: listing.userId,
    payoutAddress: listing.payoutAddress,
    buyerUserId: buyer,
    buyerGolemId: null,
    wrappedCek: `wrapped-for-${buyer}`,
    price: listing.price,
    fee: purchaseFee(listing.price),
    paymentId: `pay_${id}`,
    state: "pending",
    payoutId: null,
    createdAt: 2000,
    updatedAt: 2000,
    ...over,
  };
}

/**
 * The behaviour every MarketplaceStore must show; `make` returns two handles on one empty
 * storage (two gateways, or the same store twice where it lives in one process).
 */
export function describeMarketplaceStoreContract(name: string, make: () => Promise<readonly [MarketplaceStore, MarketplaceStore]>): void {
  describe(`MarketplaceStore contract: ${name}`, () => {
    it("keeps a listing as given, every field", async () => {
      const [a, b] = await make();
      const l = listingFixture("lst_1", {
        golemId: "glm_1",
        kind: "death_archive",
        embedding: [0.25, -0.5, 1],
        provenance: { bloodstain: 999, generation: 2, ticksLived: 77 },
      });
      assert.equal(await a.createListing(l, 100), undefined);
      assert.deepEqual(await b.getListing("lst_1"), l);
      assert.equal(await b.getListing("lst_nope"), undefined);
    });

    it("refuses a listing past the user's active limit; ended listings do not count", async () => {
      const [a, b] = await make();
      assert.equal(await a.createListing(listingFixture("l1"), 2), undefined);
      assert.equal(await b.createListing(listingFixture("l2"), 2), undefined);
      assert.equal(await a.createListing(listingFixture("l3"), 2), "limit");
      assert.equal(await a.getListing("l3"), undefined, "a refused listing writes nothing");
      assert.equal(await b.createListing(listingFixture("o1", { userId: "usr_other" }), 2), undefined, "another user has their own count");
      assert.equal(await a.activeListingCount("usr_other"), 1);
      assert.equal(await b.activeListingCount(listingFixture("x").userId), 2, "the count the limit is checked against before a 402");
      assert.equal(await a.endListing("l1", "withdrawn", 5000), true);
      assert.equal(await a.activeListingCount(listingFixture("x").userId), 1, "an ended listing does not count");
      assert.equal(await b.createListing(listingFixture("l3"), 2), undefined);
    });

    it("lets concurrent creates on two handles pass the limit no further than it", async () => {
      const [a, b] = await make();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).createListing(listingFixture(`c${i}`), 4)));
      assert.equal(results.filter((r) => r === undefined).length, 4);
      assert.equal(results.filter((r) => r === "limit").length, 6);
    });

    it("refuses a second active death archive of one golem, not one after it ended", async () => {
      const [a, b] = await make();
      const archive = (id: string) => listingFixture(id, { kind: "death_archive", golemId: "glm_dead" });
      assert.equal(await a.createListing(archive("d1"), 100), undefined);
      assert.equal(await b.createListing(archive("d2"), 100), "conflict");
      assert.equal(
        await a.createListing(listingFixture("e1", { golemId: "glm_dead" }), 100),
        undefined,
        "entries of that golem are no archive",
      );
      await a.endListing("d1", "withdrawn", 5000);
      assert.equal(await b.createListing(archive("d3"), 100), undefined);
    });

    it("browses active unexpired listings, newest first, by domain, kind and price", async () => {
      const [a, b] = await make();
      await a.createListing(listingFixture("x1", { createdAt: 1, domain: "d.a", price: 10 }), 100);
      await a.createListing(listingFixture("x2", { createdAt: 2, domain: "d.b", price: 20, kind: "strategy" }), 100);
      await a.createListing(listingFixture("x3", { createdAt: 3, domain: "d.a", price: 30 }), 100);
      await a.createListing(listingFixture("x4", { createdAt: 4, expiresAt: 50 }), 100);
      await a.createListing(listingFixture("x5", { createdAt: 5 }), 100);
      await a.endListing("x5", "taken_down", 60);
      const ids = async (f: Partial<Parameters<MarketplaceStore["activeListings"]>[0]>) =>
        (await b.activeListings({ now: 100, limit: 100, ...f })).map((l) => l.id);
      assert.deepEqual(await ids({}), ["x3", "x2", "x1"]);
      assert.deepEqual(await ids({ domain: "d.a" }), ["x3", "x1"]);
      assert.deepEqual(await ids({ kind: "strategy" }), ["x2"]);
      assert.deepEqual(await ids({ maxPrice: 20 }), ["x2", "x1"]);
      assert.deepEqual(await ids({ limit: 1 }), ["x3"]);
      assert.deepEqual(await ids({ now: 40 }), ["x4", "x3", "x2", "x1"]);
    });

    it("ends a listing once, only from active", async () => {
      const [a, b] = await make();
      await a.createListing(listingFixture("w1"), 100);
      assert.equal(await a.endListing("w1", "withdrawn", 7), true);
      assert.equal(await b.endListing("w1", "taken_down", 8), false);
      const l = await b.getListing("w1");
      assert.equal(l?.status, "withdrawn");
      assert.equal(l?.endedAt, 7);
      assert.equal(await b.endListing("nope", "withdrawn", 8), false);
    });

    it("expires each listing past its TTL once, ended at its expiry", async () => {
      const [a, b] = await make();
      await a.createListing(listingFixture("t1", { expiresAt: 100 }), 100);
      await a.createListing(listingFixture("t2", { expiresAt: 300 }), 100);
      const [first, second] = await Promise.all([a.expireListings(200, 10), b.expireListings(200, 10)]);
      assert.deepEqual(
        [...first, ...second].map((l) => [l.id, l.status, l.endedAt]),
        [["t1", "expired", 100]],
      );
      assert.equal((await a.getListing("t2"))?.status, "active");
    });

    it("purges an ended listing's escrow wrap once, after `before`, and releases its blob hold", async () => {
      const [a, b] = await make();
      const cid = `b3:${"c".repeat(64)}`;
      await a.createListing(listingFixture("p1", { contentCid: cid }), 100);
      assert.equal(await b.holdsBlob("usr_seller", cid), true);
      assert.equal(await b.holdsBlob("usr_other", cid), false, "a hold is the seller's own");
      assert.deepEqual(await a.purgeListings(10_000, 10_001, 10), [], "an active listing is never purged");
      await a.endListing("p1", "withdrawn", 500);
      assert.deepEqual(await a.purgeListings(499, 10_001, 10), [], "not yet");
      const [x, y] = await Promise.all([a.purgeListings(500, 10_001, 10), b.purgeListings(500, 10_001, 10)]);
      assert.equal(x.length + y.length, 1);
      const l = await a.getListing("p1");
      assert.equal(l?.escrowWrappedCek, null);
      assert.equal(l?.purgedAt, 10_001);
      assert.equal(await b.holdsBlob("usr_seller", cid), false);
    });

    it("keeps one unrevoked purchase per listing and buyer, counting sales", async () => {
      const [a, b] = await make();
      const l = listingFixture("l1");
      await a.createListing(l, 100);
      assert.deepEqual(await a.createPurchase(purchaseFixture("pur_1", l, "usr_b")), { created: true });
      const again = await b.createPurchase(purchaseFixture("pur_2", l, "usr_b"));
      assert.equal(again.created, false);
      assert.equal(!again.created && again.existing.id, "pur_1");
      assert.equal(await a.getPurchase("pur_2"), undefined);
      await b.createPurchase(purchaseFixture("pur_3", l, "usr_c"));
      assert.equal((await a.getListing("l1"))?.sales, 2);
      assert.deepEqual(await b.getPurchase("pur_1"), purchaseFixture("pur_1", l, "usr_b"));
      assert.equal((await b.findPurchase("l1", "usr_b"))?.id, "pur_1");
      assert.deepEqual(
        (await b.purchasesOfBuyer("usr_b", 10)).map((p) => p.id),
        ["pur_1"],
      );
      // Revoked: the buyer may buy again.
      assert.equal((await a.revokePurchase("pay_pur_1", 3000))?.state, "revoked");
      assert.equal(await b.findPurchase("l1", "usr_b"), undefined);
      assert.deepEqual(await b.purchasesOfBuyer("usr_b", 10), []);
      assert.equal((await a.getListing("l1"))?.sales, 1);
      assert.deepEqual(await b.createPurchase(purchaseFixture("pur_4", l, "usr_b")), { created: true });
    });

    it("lets concurrent purchases of one buyer on two handles make one", async () => {
      const [a, b] = await make();
      const l = listingFixture("l1");
      await a.createListing(l, 100);
      const r = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).createPurchase(purchaseFixture(`q${i}`, l, "usr_b"))),
      );
      assert.equal(r.filter((x) => x.created).length, 1);
      assert.equal((await a.getListing("l1"))?.sales, 1);
    });

    it("settles pending → payable and revokes pending|payable → revoked, each once", async () => {
      const [a, b] = await make();
      const l = listingFixture("l1");
      await a.createListing(l, 100);
      await a.createPurchase(purchaseFixture("s1", l, "usr_b"));
      await a.createPurchase(purchaseFixture("s2", l, "usr_c"));
      assert.deepEqual((await b.pendingPurchases(10)).map((p) => p.id).sort(), ["s1", "s2"]);
      assert.equal((await a.settlePurchase("pay_s1", 5))?.state, "payable");
      assert.equal(await b.settlePurchase("pay_s1", 6), undefined, "once");
      assert.equal((await b.revokePurchase("pay_s1", 7))?.state, "revoked", "a payable purchase is revoked too");
      assert.equal(await a.revokePurchase("pay_s1", 8), undefined, "once");
      assert.equal(await a.settlePurchase("pay_s1", 9), undefined, "a revoked purchase never becomes payable");
      assert.equal(await a.settlePurchase("pay_unknown", 9), undefined);
      assert.deepEqual(
        (await b.pendingPurchases(10)).map((p) => p.id),
        ["s2"],
      );
    });

    it("takes one rating per buyer, keeping the listing's sum and count; a revoked purchase takes its rating back", async () => {
      const [a, b] = await make();
      const l = listingFixture("l1");
      await a.createListing(l, 100);
      await a.createPurchase(purchaseFixture("r1", l, "usr_b"));
      assert.deepEqual(await a.rate({ listingId: "l1", buyerUserId: "usr_b", rating: 4, comment: "good", createdAt: 10 }), {
        sum: 4,
        count: 1,
      });
      assert.equal(await b.rate({ listingId: "l1", buyerUserId: "usr_b", rating: 1, comment: null, createdAt: 11 }), undefined);
      assert.deepEqual(await b.rate({ listingId: "l1", buyerUserId: "usr_c", rating: 2, comment: null, createdAt: 12 }), {
        sum: 6,
        count: 2,
      });
      assert.deepEqual(
        (await a.recentRatings("l1", 10)).map((r) => [r.buyerUserId, r.rating, r.comment]),
        [
          ["usr_c", 2, null],
          ["usr_b", 4, "good"],
        ],
      );
      await b.revokePurchase("pay_r1", 20);
      const after = await a.getListing("l1");
      assert.deepEqual([after?.ratingSum, after?.ratingCount], [2, 1]);
      assert.deepEqual(
        (await a.recentRatings("l1", 10)).map((r) => r.buyerUserId),
        ["usr_c"],
      );
    });

    it("makes one due payout per seller and address from payable purchases, paid once", async () => {
      const [a, b] = await make();
      const l1 = listingFixture("l1", { price: 100 });
      const l2 = listingFixture("l2", { price: 250, payoutAddress: "0x00000000000000000000000000000000000000cc" });
      await a.createListing(l1, 100);
      await a.createListing(l2, 100);
      for (const [id, l, buyer] of [
        ["u1", l1, "usr_b"],
        ["u2", l1, "usr_c"],
        ["u3", l2, "usr_b"],
        ["u4", l2, "usr_c"],
      ] as const)
        await a.createPurchase(purchaseFixture(id, l, buyer));
      for (const id of ["u1", "u2", "u3"]) await b.settlePurchase(`pay_${id}`, 5);
      assert.deepEqual(await a.sellerTotals("usr_seller"), { pending: 250, payable: 450, due: 0, paid: 0 });
      assert.deepEqual(
        (await b.payables()).map((p) => [p.address.slice(-2), p.amount]),
        [
          ["bb", 200],
          ["cc", 250],
        ],
      );
      const payout = await a.createPayout("pout_1", "usr_seller", l1.payoutAddress, 50);
      assert.deepEqual([payout?.amount, payout?.purchases, payout?.status], [200, 2, "due"]);
      assert.equal(await b.createPayout("pout_2", "usr_seller", l1.payoutAddress, 51), undefined, "nothing payable left there");
      assert.deepEqual(await a.sellerTotals("usr_seller"), { pending: 250, payable: 250, due: 200, paid: 0 });
      assert.deepEqual(
        (await b.payouts({ status: "due", limit: 10 })).map((p) => p.id),
        ["pout_1"],
      );
      assert.equal(((await a.markPaid("pout_1", "0xabc", 60)) as { status: string }).status, "paid");
      assert.equal(await b.markPaid("pout_1", "0xdef", 61), false, "recorded once");
      assert.equal(await b.markPaid("pout_none", "0xdef", 61), undefined);
      assert.equal((await a.getPayout("pout_1"))?.transaction, "0xabc");
      assert.deepEqual(await a.sellerTotals("usr_seller"), { pending: 250, payable: 250, due: 0, paid: 200 });
      assert.equal(await b.salesCount("usr_seller"), 4);
      assert.equal((await b.sales("usr_seller", 10)).length, 4);
      assert.deepEqual((await a.payouts({ sellerUserId: "usr_other", limit: 10 })).length, 0);
      await b.revokePurchase("pay_u4", 70);
      assert.deepEqual(await a.stats(0), { activeListings: 2, sales: 3, volume: 450, fees: 5 + 5 + 13, duePayouts: 0, dueAmount: 0 });
      await b.createPayout("pout_3", "usr_seller", l2.payoutAddress, 80);
      assert.deepEqual(await b.stats(l1.expiresAt), { activeListings: 0, sales: 3, volume: 450, fees: 23, duePayouts: 1, dueAmount: 250 });
    });

    it("keeps pending + payable + due + paid = Σ price of unrevoked purchases, for random sequences", async () => {
      for (const seed of [1, 2, 3]) {
        const [a, b] = await make();
        const rnd = prng(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
        const sellers = [`s${seed}a`, `s${seed}b`];
        const listings: Listing[] = [];
        const purchases: Purchase[] = [];
        for (let step = 0; step < 120; step++) {
          const h = rnd() < 0.5 ? a : b;
          const op = rnd();
          if (op < 0.15 || listings.length === 0) {
            const l = listingFixture(`L${seed}_${step}`, {
              userId: pick(sellers),
              price: 1 + Math.floor(rnd() * 5_000_000),
              payoutAddress: pick(["0xaa", "0xbb"]),
            });
            if ((await h.createListing(l, 100)) === undefined) listings.push(l);
          } else if (op < 0.5) {
            const l = pick(listings);
            const p = purchaseFixture(`P${seed}_${step}`, l, pick(["b1", "b2", "b3", "b4"]));
            if ((await h.createPurchase(p)).created) purchases.push(p);
          } else if (op < 0.7 && purchases.length > 0) await h.settlePurchase(pick(purchases).paymentId, step);
          else if (op < 0.8 && purchases.length > 0) await h.revokePurchase(pick(purchases).paymentId, step);
          else if (op < 0.9) {
            const p = (await h.payables())[0];
            if (p) await h.createPayout(`O${seed}_${step}`, p.sellerUserId, p.address, step);
          } else {
            const due = (await h.payouts({ status: "due", limit: 5 }))[0];
            if (due) await h.markPaid(due.id, `0x${step}`, step);
          }
        }
        for (const seller of sellers) {
          const t = await a.sellerTotals(seller);
          let owed = 0;
          for (const p of purchases) {
            const now = await b.getPurchase(p.id);
            assert.equal(now?.price, p.price);
            assert.equal((now?.price ?? 0) + (now?.fee ?? 0), p.price + Math.ceil((5 * p.price) / 100), "paid = price + fee");
            if (now && now.sellerUserId === seller && now.state !== "revoked") owed += now.price;
          }
          assert.equal(t.pending + t.payable + t.due + t.paid, owed, `seed ${seed}, seller ${seller}`);
          const paidOut = (await a.payouts({ sellerUserId: seller, limit: 1000 })).reduce((s, p) => s + p.amount, 0);
          assert.equal(paidOut, t.due + t.paid, "payouts hold exactly the due and paid purchases");
        }
      }
    });
  });
}
