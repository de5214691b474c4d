import type { ListingFilter, ListingRefusal, MarketplaceStats, MarketplaceStore, Payable } from "../../core/marketplace/store.js";
import type { Listing, Payout, Purchase, Rating, SellerTotals } from "../../core/marketplace/types.js";
import type { SqlRow } from "../sql/codec.js";
import {
  LISTING_COLUMNS,
  listingFromRow,
  listingParams,
  PAYOUT_COLUMNS,
  PURCHASE_COLUMNS,
  payoutFromRow,
  purchaseFromRow,
  purchaseParams,
  ratingFromRow,
} from "../sql/marketplace-rows.js";
import { isUniqueViolation, type SqliteDatabase } from "./database.js";

const named = (cols: string) =>
  cols
    .split(", ")
    .map((c) => `@${c}`)
    .join(", ");

/** The marketplace stores on the micronode SQLite database (migration 17). Each multi-row change is one immediate transaction. */
export class SqliteMarketplaceStore implements MarketplaceStore {
  readonly #db: SqliteDatabase;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  get #q(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  async createListing(l: Listing, maxActive: number): Promise<ListingRefusal | undefined> {
    return this.#db
      .transaction((): ListingRefusal | undefined => {
        const { n } = this.#q.activeOfUser.get(l.userId) as { n: number };
        if (n >= maxActive) return "limit";
        try {
          this.#q.insertListing.run(listingParams(l));
        } catch (err) {
          if (isUniqueViolation(err)) return "conflict";
          throw err;
        }
        return undefined;
      })
      .immediate();
  }
  async getListing(id: string): Promise<Listing | undefined> {
    const r = this.#q.getListing.get(id) as SqlRow | undefined;
    return r ? listingFromRow(r) : undefined;
  }
  async activeListings(f: ListingFilter): Promise<Listing[]> {
    const rows = this.#q.active.all({
      now: f.now,
      domain: f.domain ?? null,
      kind: f.kind ?? null,
      max: f.maxPrice ?? null,
      limit: f.limit,
    }) as SqlRow[];
    return rows.map(listingFromRow);
  }
  async endListing(id: string, status: "withdrawn" | "taken_down", at: number): Promise<boolean> {
    return this.#q.endListing.run(status, at, id).changes === 1;
  }
  async expireListings(now: number, limit: number): Promise<Listing[]> {
    return (this.#q.expire.all(now, limit) as SqlRow[]).map(listingFromRow);
  }
  async purgeListings(before: number, at: number, limit: number): Promise<Listing[]> {
    return (this.#q.purge.all(at, before, limit) as SqlRow[]).map(listingFromRow);
  }
  async listingsOfUser(userId: string, limit: number): Promise<Listing[]> {
    return (this.#q.listingsOfUser.all(userId, limit) as SqlRow[]).map(listingFromRow);
  }
  async activeListingCount(userId: string): Promise<number> {
    return (this.#q.activeOfUser.get(userId) as { n: number }).n;
  }
  async holdsBlob(userId: string, cid: string): Promise<boolean> {
    return this.#q.holdsBlob.get(userId, cid) !== undefined;
  }

  async createPurchase(p: Purchase): Promise<{ created: true } | { created: false; existing: Purchase }> {
    return this.#db
      .transaction((): { created: true } | { created: false; existing: Purchase } => {
        const existing = this.#q.findPurchase.get(p.listingId, p.buyerUserId) as SqlRow | undefined;
        if (existing) return { created: false, existing: purchaseFromRow(existing) };
        this.#q.insertPurchase.run(purchaseParams(p));
        this.#q.bumpSales.run(1, p.listingId);
        return { created: true };
      })
      .immediate();
  }
  async getPurchase(id: string): Promise<Purchase | undefined> {
    const r = this.#q.getPurchase.get(id) as SqlRow | undefined;
    return r ? purchaseFromRow(r) : undefined;
  }
  async findPurchase(listingId: string, buyerUserId: string): Promise<Purchase | undefined> {
    const r = this.#q.findPurchase.get(listingId, buyerUserId) as SqlRow | undefined;
    return r ? purchaseFromRow(r) : undefined;
  }
  async purchasesOfBuyer(buyerUserId: string, limit: number): Promise<Purchase[]> {
    return (this.#q.ofBuyer.all(buyerUserId, limit) as SqlRow[]).map(purchaseFromRow);
  }
  async settlePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    const r = this.#q.settle.get(at, paymentId) as SqlRow | undefined;
    return r ? purchaseFromRow(r) : undefined;
  }
  async revokePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    return this.#db
      .transaction((): Purchase | undefined => {
        const r = this.#q.revoke.get(at, paymentId) as SqlRow | undefined;
        if (!r) return undefined;
        const p = purchaseFromRow(r);
        this.#q.bumpSales.run(-1, p.listingId);
        const rating = this.#q.dropRating.get(p.listingId, p.buyerUserId) as { rating: number } | undefined;
        if (rating) this.#q.unrate.run(rating.rating, p.listingId);
        return p;
      })
      .immediate();
  }
  async pendingPurchases(limit: number): Promise<Purchase[]> {
    return (this.#q.pending.all(limit) as SqlRow[]).map(purchaseFromRow);
  }

  async rate(r: Rating): Promise<{ sum: number; count: number } | undefined> {
    return this.#db
      .transaction((): { sum: number; count: number } | undefined => {
        if (this.#q.insertRating.run(r.listingId, r.buyerUserId, r.rating, r.comment, r.createdAt).changes !== 1) return undefined;
        const row = this.#q.addRating.get(r.rating, r.listingId) as { rating_sum: number; rating_count: number } | undefined;
        return row ? { sum: row.rating_sum, count: row.rating_count } : undefined;
      })
      .immediate();
  }
  async ratingsOfBuyer(buyerUserId: string, limit: number): Promise<Rating[]> {
    return (this.#q.ratingsOfBuyer.all(buyerUserId, limit) as SqlRow[]).map(ratingFromRow);
  }
  async recentRatings(listingId: string, limit: number): Promise<Rating[]> {
    return (this.#q.recentRatings.all(listingId, limit) as SqlRow[]).map(ratingFromRow);
  }

  async payables(): Promise<Payable[]> {
    return (this.#q.payables.all() as { seller_user_id: string; payout_address: string; amount: number }[]).map((r) => ({
      sellerUserId: r.seller_user_id,
      address: r.payout_address,
      amount: r.amount,
    }));
  }
  async createPayout(id: string, sellerUserId: string, address: string, at: number): Promise<Payout | undefined> {
    return this.#db
      .transaction((): Payout | undefined => {
        const moved = this.#q.toDue.all(id, at, sellerUserId, address) as { price: number }[];
        if (moved.length === 0) return undefined;
        const amount = moved.reduce((s, r) => s + r.price, 0);
        this.#q.insertPayout.run(id, sellerUserId, address, amount, moved.length, at);
        return {
          id,
          sellerUserId,
          address,
          amount,
          purchases: moved.length,
          status: "due",
          transaction: null,
          createdAt: at,
          paidAt: null,
        };
      })
      .immediate();
  }
  async getPayout(id: string): Promise<Payout | undefined> {
    const r = this.#q.getPayout.get(id) as SqlRow | undefined;
    return r ? payoutFromRow(r) : undefined;
  }
  async payouts(f: { status?: "due" | "paid" | undefined; sellerUserId?: string | undefined; limit: number }): Promise<Payout[]> {
    return (this.#q.payouts.all({ status: f.status ?? null, seller: f.sellerUserId ?? null, limit: f.limit }) as SqlRow[]).map(
      payoutFromRow,
    );
  }
  async markPaid(id: string, transaction: string, at: number): Promise<Payout | false | undefined> {
    return this.#db
      .transaction((): Payout | false | undefined => {
        const r = this.#q.paid.get(transaction, at, id) as SqlRow | undefined;
        if (!r) return this.#q.getPayout.get(id) === undefined ? undefined : false;
        this.#q.purchasesPaid.run(at, id);
        return payoutFromRow(r);
      })
      .immediate();
  }
  async sellerTotals(sellerUserId: string): Promise<SellerTotals> {
    const t = { pending: 0, payable: 0, due: 0, paid: 0 };
    for (const r of this.#q.totals.all(sellerUserId) as { state: keyof SellerTotals; amount: number }[]) t[r.state] = r.amount;
    return t;
  }
  async salesCount(sellerUserId: string): Promise<number> {
    return (this.#q.salesCount.get(sellerUserId) as { n: number }).n;
  }
  async sales(sellerUserId: string, limit: number): Promise<Purchase[]> {
    return (this.#q.sales.all(sellerUserId, limit) as SqlRow[]).map(purchaseFromRow);
  }
  async stats(now: number): Promise<MarketplaceStats> {
    const r = this.#q.stats.get(now) as Record<string, number | null>;
    return {
      activeListings: Number(r.active ?? 0),
      sales: Number(r.sales ?? 0),
      volume: Number(r.volume ?? 0),
      fees: Number(r.fees ?? 0),
      duePayouts: Number(r.due_n ?? 0),
      dueAmount: Number(r.due_amount ?? 0),
    };
  }
}

function prepare(db: SqliteDatabase) {
  return {
    activeOfUser: db.prepare("SELECT count(*) AS n FROM market_listings WHERE user_id = ? AND status = 'active'"),
    insertListing: db.prepare(`INSERT INTO market_listings (${LISTING_COLUMNS}) VALUES (${named(LISTING_COLUMNS)})`),
    getListing: db.prepare(`SELECT ${LISTING_COLUMNS} FROM market_listings WHERE id = ?`),
    active: db.prepare(
      `SELECT ${LISTING_COLUMNS} FROM market_listings
         WHERE status = 'active' AND expires_at > @now AND (@domain IS NULL OR domain = @domain) AND (@kind IS NULL OR kind = @kind)
           AND (@max IS NULL OR price <= @max)
         ORDER BY created_at DESC, id LIMIT @limit`,
    ),
    endListing: db.prepare("UPDATE market_listings SET status = ?, ended_at = ? WHERE id = ? AND status = 'active'"),
    expire: db.prepare(
      `UPDATE market_listings SET status = 'expired', ended_at = expires_at
         WHERE id IN (SELECT id FROM market_listings WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?)
         RETURNING ${LISTING_COLUMNS}`,
    ),
    purge: db.prepare(
      `UPDATE market_listings SET escrow_wrapped_cek = NULL, purged_at = ?
         WHERE id IN (SELECT id FROM market_listings WHERE purged_at IS NULL AND ended_at IS NOT NULL AND ended_at <= ? ORDER BY ended_at LIMIT ?)
         RETURNING ${LISTING_COLUMNS}`,
    ),
    holdsBlob: db.prepare("SELECT 1 FROM market_listings WHERE user_id = ? AND content_cid = ? AND purged_at IS NULL LIMIT 1"),
    insertPurchase: db.prepare(`INSERT INTO market_purchases (${PURCHASE_COLUMNS}) VALUES (${named(PURCHASE_COLUMNS)})`),
    bumpSales: db.prepare("UPDATE market_listings SET sales = sales + ? WHERE id = ?"),
    getPurchase: db.prepare(`SELECT ${PURCHASE_COLUMNS} FROM market_purchases WHERE id = ?`),
    findPurchase: db.prepare(
      `SELECT ${PURCHASE_COLUMNS} FROM market_purchases WHERE listing_id = ? AND buyer_user_id = ? AND state <> 'revoked'`,
    ),
    ofBuyer: db.prepare(
      `SELECT ${PURCHASE_COLUMNS} FROM market_purchases WHERE buyer_user_id = ? AND state <> 'revoked' ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    settle: db.prepare(
      `UPDATE market_purchases SET state = 'payable', updated_at = ? WHERE payment_id = ? AND state = 'pending' RETURNING ${PURCHASE_COLUMNS}`,
    ),
    revoke: db.prepare(
      `UPDATE market_purchases SET state = 'revoked', updated_at = ? WHERE payment_id = ? AND state IN ('pending', 'payable') RETURNING ${PURCHASE_COLUMNS}`,
    ),
    dropRating: db.prepare("DELETE FROM market_ratings WHERE listing_id = ? AND buyer_user_id = ? RETURNING rating"),
    unrate: db.prepare("UPDATE market_listings SET rating_sum = rating_sum - ?, rating_count = rating_count - 1 WHERE id = ?"),
    pending: db.prepare(`SELECT ${PURCHASE_COLUMNS} FROM market_purchases WHERE state = 'pending' ORDER BY created_at, id LIMIT ?`),
    insertRating: db.prepare(
      "INSERT INTO market_ratings (listing_id, buyer_user_id, rating, comment, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    addRating: db.prepare(
      "UPDATE market_listings SET rating_sum = rating_sum + ?, rating_count = rating_count + 1 WHERE id = ? RETURNING rating_sum, rating_count",
    ),
    listingsOfUser: db.prepare(
      `SELECT ${LISTING_COLUMNS} FROM market_listings WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    ratingsOfBuyer: db.prepare(
      "SELECT listing_id, buyer_user_id, rating, comment, created_at FROM market_ratings WHERE buyer_user_id = ? ORDER BY created_at DESC, listing_id DESC LIMIT ?",
    ),
    recentRatings: db.prepare(
      "SELECT listing_id, buyer_user_id, rating, comment, created_at FROM market_ratings WHERE listing_id = ? ORDER BY created_at DESC, buyer_user_id LIMIT ?",
    ),
    payables: db.prepare(
      "SELECT seller_user_id, payout_address, sum(price) AS amount FROM market_purchases WHERE state = 'payable' GROUP BY seller_user_id, payout_address ORDER BY seller_user_id, payout_address",
    ),
    toDue: db.prepare(
      "UPDATE market_purchases SET state = 'due', payout_id = ?, updated_at = ? WHERE state = 'payable' AND seller_user_id = ? AND payout_address = ? RETURNING price",
    ),
    insertPayout: db.prepare(
      "INSERT INTO market_payouts (id, seller_user_id, address, amount, purchases, status, created_at) VALUES (?, ?, ?, ?, ?, 'due', ?)",
    ),
    getPayout: db.prepare(`SELECT ${PAYOUT_COLUMNS} FROM market_payouts WHERE id = ?`),
    payouts: db.prepare(
      `SELECT ${PAYOUT_COLUMNS} FROM market_payouts WHERE (@status IS NULL OR status = @status) AND (@seller IS NULL OR seller_user_id = @seller)
         ORDER BY created_at DESC, id LIMIT @limit`,
    ),
    paid: db.prepare(
      `UPDATE market_payouts SET status = 'paid', transaction_hash = ?, paid_at = ? WHERE id = ? AND status = 'due' RETURNING ${PAYOUT_COLUMNS}`,
    ),
    purchasesPaid: db.prepare("UPDATE market_purchases SET state = 'paid', updated_at = ? WHERE payout_id = ? AND state = 'due'"),
    totals: db.prepare(
      "SELECT state, sum(price) AS amount FROM market_purchases WHERE seller_user_id = ? AND state <> 'revoked' GROUP BY state",
    ),
    stats: db.prepare(
      `SELECT (SELECT count(*) FROM market_listings WHERE status = 'active' AND expires_at > ?) AS active,
         (SELECT count(*) FROM market_purchases WHERE state <> 'revoked') AS sales,
         (SELECT sum(price) FROM market_purchases WHERE state <> 'revoked') AS volume,
         (SELECT sum(fee) FROM market_purchases WHERE state <> 'revoked') AS fees,
         (SELECT count(*) FROM market_payouts WHERE status = 'due') AS due_n,
         (SELECT sum(amount) FROM market_payouts WHERE status = 'due') AS due_amount`,
    ),
    salesCount: db.prepare("SELECT count(*) AS n FROM market_purchases WHERE seller_user_id = ? AND state <> 'revoked'"),
    sales: db.prepare(
      `SELECT ${PURCHASE_COLUMNS} FROM market_purchases WHERE seller_user_id = ? AND state <> 'revoked' ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
  };
}
