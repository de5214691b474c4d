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
import type { PgSql, PgTx } from "./database.js";

const UNIQUE_VIOLATION = "23505";

/**
 * The marketplace stores on the macronode PostgreSQL database (migration 17), shared by every
 * gateway. A user's listing count and insert are serialised by a transaction-scoped advisory
 * lock on the user; the partial unique indexes refuse a second active death archive of a golem
 * and a second unrevoked purchase of a listing by one buyer, whichever gateway races.
 */
export class PostgresMarketplaceStore implements MarketplaceStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async createListing(l: Listing, maxActive: number): Promise<ListingRefusal | undefined> {
    try {
      return await this.#sql.begin(async (tx): Promise<ListingRefusal | undefined> => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`styx:market:${l.userId}`}, 0))`;
        const [r] = await tx<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM market_listings WHERE user_id = ${l.userId} AND status = 'active'`;
        if (Number(r?.n ?? 0) >= maxActive) return "limit";
        await tx`INSERT INTO market_listings ${tx(listingParams(l))}`;
        return undefined;
      });
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return "conflict";
      throw err;
    }
  }
  async getListing(id: string): Promise<Listing | undefined> {
    const [r] = await this.#sql<SqlRow[]>`SELECT ${this.#sql.unsafe(LISTING_COLUMNS)} FROM market_listings WHERE id = ${id}`;
    return r ? listingFromRow(r) : undefined;
  }
  async activeListings(f: ListingFilter): Promise<Listing[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(LISTING_COLUMNS)} FROM market_listings
      WHERE status = 'active' AND expires_at > ${f.now}
        AND (${f.domain ?? null}::text IS NULL OR domain = ${f.domain ?? null})
        AND (${f.kind ?? null}::text IS NULL OR kind = ${f.kind ?? null})
        AND (${f.maxPrice ?? null}::bigint IS NULL OR price <= ${f.maxPrice ?? null})
      ORDER BY created_at DESC, id LIMIT ${f.limit}`;
    return rows.map(listingFromRow);
  }
  async endListing(id: string, status: "withdrawn" | "taken_down", at: number): Promise<boolean> {
    const rows = await this
      .#sql`UPDATE market_listings SET status = ${status}, ended_at = ${at} WHERE id = ${id} AND status = 'active' RETURNING id`;
    return rows.length === 1;
  }
  async expireListings(now: number, limit: number): Promise<Listing[]> {
    const rows = await this.#sql<SqlRow[]>`
      WITH due AS MATERIALIZED (
        SELECT id FROM market_listings WHERE status = 'active' AND expires_at <= ${now} ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE market_listings l SET status = 'expired', ended_at = l.expires_at FROM due WHERE l.id = due.id AND l.status = 'active'
      RETURNING ${this.#sql.unsafe(prefixed("l", LISTING_COLUMNS))}`;
    return rows.map(listingFromRow);
  }
  async purgeListings(before: number, at: number, limit: number): Promise<Listing[]> {
    const rows = await this.#sql<SqlRow[]>`
      WITH due AS MATERIALIZED (
        SELECT id FROM market_listings WHERE purged_at IS NULL AND ended_at IS NOT NULL AND ended_at <= ${before}
        ORDER BY ended_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE market_listings l SET escrow_wrapped_cek = NULL, purged_at = ${at} FROM due WHERE l.id = due.id AND l.purged_at IS NULL
      RETURNING ${this.#sql.unsafe(prefixed("l", LISTING_COLUMNS))}`;
    return rows.map(listingFromRow);
  }
  async listingsOfUser(userId: string, limit: number): Promise<Listing[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(LISTING_COLUMNS)} FROM market_listings WHERE user_id = ${userId}
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
    return rows.map(listingFromRow);
  }
  async activeListingCount(userId: string): Promise<number> {
    const [r] = await this.#sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM market_listings WHERE user_id = ${userId} AND status = 'active'`;
    return Number(r?.n ?? 0);
  }
  async holdsBlob(userId: string, cid: string): Promise<boolean> {
    const rows = await this
      .#sql`SELECT 1 FROM market_listings WHERE user_id = ${userId} AND content_cid = ${cid} AND purged_at IS NULL LIMIT 1`;
    return rows.length > 0;
  }

  async createPurchase(p: Purchase): Promise<{ created: true } | { created: false; existing: Purchase }> {
    for (;;) {
      const created = await this.#sql.begin(async (tx) => {
        const rows = await tx`INSERT INTO market_purchases ${tx(purchaseParams(p))} ON CONFLICT DO NOTHING RETURNING id`;
        if (rows.length === 0) return false;
        await tx`UPDATE market_listings SET sales = sales + 1 WHERE id = ${p.listingId}`;
        return true;
      });
      if (created) return { created: true };
      const existing = await this.findPurchase(p.listingId, p.buyerUserId);
      // The conflicting purchase was revoked meanwhile: try again.
      if (existing) return { created: false, existing };
    }
  }
  async getPurchase(id: string): Promise<Purchase | undefined> {
    const [r] = await this.#sql<SqlRow[]>`SELECT ${this.#sql.unsafe(PURCHASE_COLUMNS)} FROM market_purchases WHERE id = ${id}`;
    return r ? purchaseFromRow(r) : undefined;
  }
  async findPurchase(listingId: string, buyerUserId: string): Promise<Purchase | undefined> {
    const [r] = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PURCHASE_COLUMNS)} FROM market_purchases
      WHERE listing_id = ${listingId} AND buyer_user_id = ${buyerUserId} AND state <> 'revoked'`;
    return r ? purchaseFromRow(r) : undefined;
  }
  async purchasesOfBuyer(buyerUserId: string, limit: number): Promise<Purchase[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PURCHASE_COLUMNS)} FROM market_purchases
      WHERE buyer_user_id = ${buyerUserId} AND state <> 'revoked' ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
    return rows.map(purchaseFromRow);
  }
  async settlePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    const [r] = await this.#sql<SqlRow[]>`
      UPDATE market_purchases SET state = 'payable', updated_at = ${at} WHERE payment_id = ${paymentId} AND state = 'pending'
      RETURNING ${this.#sql.unsafe(PURCHASE_COLUMNS)}`;
    return r ? purchaseFromRow(r) : undefined;
  }
  async revokePurchase(paymentId: string, at: number): Promise<Purchase | undefined> {
    return this.#sql.begin(async (tx) => {
      const [r] = await tx<SqlRow[]>`
        UPDATE market_purchases SET state = 'revoked', updated_at = ${at} WHERE payment_id = ${paymentId} AND state IN ('pending', 'payable')
        RETURNING ${tx.unsafe(PURCHASE_COLUMNS)}`;
      if (!r) return undefined;
      const p = purchaseFromRow(r);
      await tx`UPDATE market_listings SET sales = sales - 1 WHERE id = ${p.listingId}`;
      const [rating] = await tx<{ rating: number }[]>`
        DELETE FROM market_ratings WHERE listing_id = ${p.listingId} AND buyer_user_id = ${p.buyerUserId} RETURNING rating`;
      if (rating)
        await tx`UPDATE market_listings SET rating_sum = rating_sum - ${Number(rating.rating)}, rating_count = rating_count - 1 WHERE id = ${p.listingId}`;
      return p;
    });
  }
  async pendingPurchases(limit: number): Promise<Purchase[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PURCHASE_COLUMNS)} FROM market_purchases WHERE state = 'pending' ORDER BY created_at, id LIMIT ${limit}`;
    return rows.map(purchaseFromRow);
  }

  async rate(r: Rating): Promise<{ sum: number; count: number } | undefined> {
    return this.#sql.begin(async (tx) => {
      const ins = await tx`
        INSERT INTO market_ratings (listing_id, buyer_user_id, rating, comment, created_at)
        VALUES (${r.listingId}, ${r.buyerUserId}, ${r.rating}, ${r.comment}, ${r.createdAt}) ON CONFLICT DO NOTHING RETURNING listing_id`;
      if (ins.length === 0) return undefined;
      const [row] = await tx<{ rating_sum: number; rating_count: number }[]>`
        UPDATE market_listings SET rating_sum = rating_sum + ${r.rating}, rating_count = rating_count + 1 WHERE id = ${r.listingId}
        RETURNING rating_sum, rating_count`;
      return row ? { sum: Number(row.rating_sum), count: Number(row.rating_count) } : undefined;
    });
  }
  async ratingsOfBuyer(buyerUserId: string, limit: number): Promise<Rating[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT listing_id, buyer_user_id, rating, comment, created_at FROM market_ratings WHERE buyer_user_id = ${buyerUserId}
      ORDER BY created_at DESC, listing_id DESC LIMIT ${limit}`;
    return rows.map(ratingFromRow);
  }
  async recentRatings(listingId: string, limit: number): Promise<Rating[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT listing_id, buyer_user_id, rating, comment, created_at FROM market_ratings WHERE listing_id = ${listingId}
      ORDER BY created_at DESC, buyer_user_id LIMIT ${limit}`;
    return rows.map(ratingFromRow);
  }

  async payables(): Promise<Payable[]> {
    const rows = await this.#sql<{ seller_user_id: string; payout_address: string; amount: number }[]>`
      SELECT seller_user_id, payout_address, sum(price)::bigint AS amount FROM market_purchases WHERE state = 'payable'
      GROUP BY seller_user_id, payout_address ORDER BY seller_user_id, payout_address`;
    return rows.map((r) => ({ sellerUserId: r.seller_user_id, address: r.payout_address, amount: Number(r.amount) }));
  }
  async createPayout(id: string, sellerUserId: string, address: string, at: number): Promise<Payout | undefined> {
    return this.#sql.begin(async (tx) => {
      const moved = await tx<{ price: number }[]>`
        UPDATE market_purchases SET state = 'due', payout_id = ${id}, updated_at = ${at}
        WHERE state = 'payable' AND seller_user_id = ${sellerUserId} AND payout_address = ${address} RETURNING price`;
      if (moved.length === 0) return undefined;
      const amount = moved.reduce((s, r) => s + Number(r.price), 0);
      await tx`
        INSERT INTO market_payouts (id, seller_user_id, address, amount, purchases, status, created_at)
        VALUES (${id}, ${sellerUserId}, ${address}, ${amount}, ${moved.length}, 'due', ${at})`;
      return {
        id,
        sellerUserId,
        address,
        amount,
        purchases: moved.length,
        status: "due" as const,
        transaction: null,
        createdAt: at,
        paidAt: null,
      };
    });
  }
  async getPayout(id: string): Promise<Payout | undefined> {
    const [r] = await this.#sql<SqlRow[]>`SELECT ${this.#sql.unsafe(PAYOUT_COLUMNS)} FROM market_payouts WHERE id = ${id}`;
    return r ? payoutFromRow(r) : undefined;
  }
  async payouts(f: { status?: "due" | "paid" | undefined; sellerUserId?: string | undefined; limit: number }): Promise<Payout[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PAYOUT_COLUMNS)} FROM market_payouts
      WHERE (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND (${f.sellerUserId ?? null}::text IS NULL OR seller_user_id = ${f.sellerUserId ?? null})
      ORDER BY created_at DESC, id LIMIT ${f.limit}`;
    return rows.map(payoutFromRow);
  }
  async markPaid(id: string, transaction: string, at: number): Promise<Payout | false | undefined> {
    return this.#sql.begin(async (tx: PgTx) => {
      const [r] = await tx<SqlRow[]>`
        UPDATE market_payouts SET status = 'paid', transaction_hash = ${transaction}, paid_at = ${at} WHERE id = ${id} AND status = 'due'
        RETURNING ${tx.unsafe(PAYOUT_COLUMNS)}`;
      if (!r) return (await tx`SELECT 1 FROM market_payouts WHERE id = ${id}`).length === 0 ? undefined : false;
      await tx`UPDATE market_purchases SET state = 'paid', updated_at = ${at} WHERE payout_id = ${id} AND state = 'due'`;
      return payoutFromRow(r);
    });
  }
  async sellerTotals(sellerUserId: string): Promise<SellerTotals> {
    const t = { pending: 0, payable: 0, due: 0, paid: 0 };
    const rows = await this.#sql<{ state: keyof SellerTotals; amount: number }[]>`
      SELECT state, sum(price)::bigint AS amount FROM market_purchases WHERE seller_user_id = ${sellerUserId} AND state <> 'revoked' GROUP BY state`;
    for (const r of rows) t[r.state] = Number(r.amount);
    return t;
  }
  async salesCount(sellerUserId: string): Promise<number> {
    const [r] = await this.#sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM market_purchases WHERE seller_user_id = ${sellerUserId} AND state <> 'revoked'`;
    return Number(r?.n ?? 0);
  }
  async sales(sellerUserId: string, limit: number): Promise<Purchase[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PURCHASE_COLUMNS)} FROM market_purchases
      WHERE seller_user_id = ${sellerUserId} AND state <> 'revoked' ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
    return rows.map(purchaseFromRow);
  }
  async stats(now: number): Promise<MarketplaceStats> {
    const [r] = await this.#sql<Record<string, number | string | null>[]>`
      SELECT (SELECT count(*)::int FROM market_listings WHERE status = 'active' AND expires_at > ${now}) AS active,
        (SELECT count(*)::int FROM market_purchases WHERE state <> 'revoked') AS sales,
        (SELECT coalesce(sum(price), 0)::bigint FROM market_purchases WHERE state <> 'revoked') AS volume,
        (SELECT coalesce(sum(fee), 0)::bigint FROM market_purchases WHERE state <> 'revoked') AS fees,
        (SELECT count(*)::int FROM market_payouts WHERE status = 'due') AS due_n,
        (SELECT coalesce(sum(amount), 0)::bigint FROM market_payouts WHERE status = 'due') AS due_amount`;
    return {
      activeListings: Number(r?.active ?? 0),
      sales: Number(r?.sales ?? 0),
      volume: Number(r?.volume ?? 0),
      fees: Number(r?.fees ?? 0),
      duePayouts: Number(r?.due_n ?? 0),
      dueAmount: Number(r?.due_amount ?? 0),
    };
  }
}

function prefixed(alias: string, cols: string): string {
  return cols
    .split(", ")
    .map((c) => `${alias}.${c}`)
    .join(", ");
}
