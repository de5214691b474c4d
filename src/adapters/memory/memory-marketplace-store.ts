import type { ListingFilter, ListingRefusal, MarketplaceStats, MarketplaceStore, Payable } from "../../core/marketplace/store.js";
import type { Listing, Payout, Purchase, Rating, SellerTotals } from "../../core/marketplace/types.js";

/** The marketplace stores in memory (amnesia, tests). Single-threaded: each method is atomic. */
export class MemoryMarketplaceStore implements MarketplaceStore {
  readonly #listings = new Map<string, Listing>();
  readonly #purchases = new Map<string, Purchase>();
  readonly #ratings = new Map<string, Rating>();
  readonly #payouts = new Map<string, Payout>();

  async createListing(l: Listing, maxActive: number): Promise<ListingRefusal | undefined> {
    const mine = [...this.#listings.values()].filter((x) => x.userId === l.userId && x.status === "active");
    if (mine.length >= maxActive) return "limit";
    if (l.kind === "death_archive" && mine.some((x) => x.kind === "death_archive" && x.golemId === l.golemId)) return "conflict";
    this.#listings.set(l.id, l);
    return undefined;
  }
  async getListing(id: string): Promise<Listing | undefined> {
    return this.#listings.get(id);
  }
  async activeListings(f: ListingFilter): Promise<Listing[]> {
    return [...this.#listings.values()]
      .filter(
        (l) =>
          l.status === "active" &&
          l.expiresAt > f.now &&
          (f.domain === undefined || l.domain === f.domain) &&
          (f.kind === undefined || l.kind === f.kind) &&
          (f.maxPrice === undefined || l.price <= f.maxPrice),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, f.limit);
  }
  async endListing(id: string, status: "withdrawn" | "taken_down", at: number): Promise<boolean> {
    const l = this.#listings.get(id);
    if (!l || l.status !== "active") return false;
    this.#listings.set(id, { ...l, status, endedAt: at });
    return true;
  }
  async expireListings(now: number, limit: number): Promise<Listing[]> {
    const out: Listing[] = [];
    for (const l of this.#listings.values()) {
      if (out.length >= limit) break;
      if (l.status !== "active" || l.expiresAt > now) continue;
      const e: Listing = { ...l, status: "expired", endedAt: l.expiresAt };
      this.#listings.set(l.id, e);
      out.push(e);
    }
    return out;
  }
  async purgeListings(before: number, at: number, limit: number): Promise<Listing[]> {
    const out: Listing[] = [];
    for (const l of this.#listings.values()) {
      if (out.length >= limit) break;
      if (l.status === "active" || l.purgedAt !== null || l.endedAt === null || l.endedAt > before) continue;
      const p: Listing = { ...l, escrowWrappedCek: null, purgedAt: at };
      this.#listings.set(l.id, p);
      out.push(p);
    }
    return out;
  }
  async listingsOfUser(userId: string, limit: number): Promise<Listing[]> {
    return [...this.#listings.values()]
      .filter((l) => l.userId === userId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(0, limit);
  }
  async activeListingCount(userId: string): Promise<number> {
    let n = 0;
    for (const l of this.#listings.values()) if (l.userId === userId && l.status === "active") n++;
    return n;
  }
  async holdsBlob(userId: string, cid: string): Promise<boolean> {
    for (const l of this.#listings.values()) if (l.userId === userId && l.contentCid === cid && l.purgedAt === null) return true;
    return false;
  }

  async createPurchase(p: Purchase): Promise<{ created: true } | { created: false; existing: Purchase }> {
    const existing = this.#find(p.listingId, p.buyerUserId);
    if (existing) return { created: false, existing };
    this.#purchases.set(p.id, p);
    this.#bumpSales(p.listingId, 1);
    return { created: true };
  }
  async getPurchase(id: string): Promise<Purchase | undefined> {
    return this.#purchases.get(id);
  }
  async findPurchase(listingId: string, buyerUserId: string): Promise<Purchase | undefined> {
    return this.#find(listingId, buyerUserId);
  }
  // Synchronous: a check and the insert after it must not let another call in between.
  #find(listingId: string, buyerUserId: string): Purchase | undefined {
    for (const p of this.#purchases.values())
      if (p.listingId === listingId && p.buyerUserId === buyerUserId && p.state !== "revoked") return p;
    return undefined;
  }
  async purchasesOfBuyer(buyerUserId: string, limit: number): Promise<Purchase[]> {
    return newest([...this.#purchases.values()].filter((p) => p.buyerUserId === buyerUserId && p.state !== "revoked")).slice(0, limit);
  }
  async settlePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    const p = this.#byPayment(paymentId);
    if (!p || p.state !== "pending") return undefined;
    const s: Purchase = { ...p, state: "payable", updatedAt: at };
    this.#purchases.set(p.id, s);
    return s;
  }
  async revokePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    const p = this.#byPayment(paymentId);
    if (!p || (p.state !== "pending" && p.state !== "payable")) return undefined;
    const r: Purchase = { ...p, state: "revoked", updatedAt: at };
    this.#purchases.set(p.id, r);
    this.#bumpSales(p.listingId, -1);
    const key = ratingKey(p.listingId, p.buyerUserId);
    const rating = this.#ratings.get(key);
    if (rating) {
      this.#ratings.delete(key);
      const l = this.#listings.get(p.listingId);
      if (l) this.#listings.set(l.id, { ...l, ratingSum: l.ratingSum - rating.rating, ratingCount: l.ratingCount - 1 });
    }
    return r;
  }
  async pendingPurchases(limit: number): Promise<Purchase[]> {
    return [...this.#purchases.values()]
      .filter((p) => p.state === "pending")
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit);
  }

  async rate(r: Rating): Promise<{ sum: number; count: number } | undefined> {
    const key = ratingKey(r.listingId, r.buyerUserId);
    const l = this.#listings.get(r.listingId);
    if (this.#ratings.has(key) || !l) return undefined;
    this.#ratings.set(key, r);
    const n: Listing = { ...l, ratingSum: l.ratingSum + r.rating, ratingCount: l.ratingCount + 1 };
    this.#listings.set(l.id, n);
    return { sum: n.ratingSum, count: n.ratingCount };
  }
  async ratingsOfBuyer(buyerUserId: string, limit: number): Promise<Rating[]> {
    return [...this.#ratings.values()]
      .filter((r) => r.buyerUserId === buyerUserId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.listingId < b.listingId ? 1 : -1))
      .slice(0, limit);
  }
  async recentRatings(listingId: string, limit: number): Promise<Rating[]> {
    return [...this.#ratings.values()]
      .filter((r) => r.listingId === listingId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.buyerUserId < b.buyerUserId ? -1 : 1))
      .slice(0, limit);
  }

  async payables(): Promise<Payable[]> {
    const sums = new Map<string, Payable>();
    for (const p of this.#purchases.values()) {
      if (p.state !== "payable") continue;
      const key = `${p.sellerUserId}\u0000${p.payoutAddress}`;
      const was = sums.get(key);
      sums.set(key, { sellerUserId: p.sellerUserId, address: p.payoutAddress, amount: (was?.amount ?? 0) + p.price });
    }
    return [...sums.values()];
  }
  async createPayout(id: string, sellerUserId: string, address: string, at: number): Promise<Payout | undefined> {
    const mine = [...this.#purchases.values()].filter(
      (p) => p.state === "payable" && p.sellerUserId === sellerUserId && p.payoutAddress === address,
    );
    if (mine.length === 0) return undefined;
    for (const p of mine) this.#purchases.set(p.id, { ...p, state: "due", payoutId: id, updatedAt: at });
    const payout: Payout = {
      id,
      sellerUserId,
      address,
      amount: mine.reduce((s, p) => s + p.price, 0),
      purchases: mine.length,
      status: "due",
      transaction: null,
      createdAt: at,
      paidAt: null,
    };
    this.#payouts.set(id, payout);
    return payout;
  }
  async getPayout(id: string): Promise<Payout | undefined> {
    return this.#payouts.get(id);
  }
  async payouts(f: { status?: "due" | "paid" | undefined; sellerUserId?: string | undefined; limit: number }): Promise<Payout[]> {
    return [...this.#payouts.values()]
      .filter(
        (p) => (f.status === undefined || p.status === f.status) && (f.sellerUserId === undefined || p.sellerUserId === f.sellerUserId),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, f.limit);
  }
  async markPaid(id: string, transaction: string, at: number): Promise<Payout | false | undefined> {
    const p = this.#payouts.get(id);
    if (!p) return undefined;
    if (p.status !== "due") return false;
    const paid: Payout = { ...p, status: "paid", transaction, paidAt: at };
    this.#payouts.set(id, paid);
    for (const x of this.#purchases.values())
      if (x.payoutId === id && x.state === "due") this.#purchases.set(x.id, { ...x, state: "paid", updatedAt: at });
    return paid;
  }
  async sellerTotals(sellerUserId: string): Promise<SellerTotals> {
    const t = { pending: 0, payable: 0, due: 0, paid: 0 };
    for (const p of this.#purchases.values()) if (p.sellerUserId === sellerUserId && p.state !== "revoked") t[p.state] += p.price;
    return t;
  }
  async salesCount(sellerUserId: string): Promise<number> {
    let n = 0;
    for (const p of this.#purchases.values()) if (p.sellerUserId === sellerUserId && p.state !== "revoked") n++;
    return n;
  }
  async sales(sellerUserId: string, limit: number): Promise<Purchase[]> {
    return newest([...this.#purchases.values()].filter((p) => p.sellerUserId === sellerUserId && p.state !== "revoked")).slice(0, limit);
  }

  async stats(now: number): Promise<MarketplaceStats> {
    const live = [...this.#purchases.values()].filter((p) => p.state !== "revoked");
    const due = [...this.#payouts.values()].filter((p) => p.status === "due");
    return {
      activeListings: [...this.#listings.values()].filter((l) => l.status === "active" && l.expiresAt > now).length,
      sales: live.length,
      volume: live.reduce((s, p) => s + p.price, 0),
      fees: live.reduce((s, p) => s + p.fee, 0),
      duePayouts: due.length,
      dueAmount: due.reduce((s, p) => s + p.amount, 0),
    };
  }

  #byPayment(paymentId: string): Purchase | undefined {
    for (const p of this.#purchases.values()) if (p.paymentId === paymentId) return p;
    return undefined;
  }
  #bumpSales(listingId: string, by: number): void {
    const l = this.#listings.get(listingId);
    if (l) this.#listings.set(l.id, { ...l, sales: l.sales + by });
  }
}

function ratingKey(listingId: string, buyer: string): string {
  return `${listingId}\u0000${buyer}`;
}

function newest(ps: Purchase[]): Purchase[] {
  return ps.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}
