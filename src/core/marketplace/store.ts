import type { Listing, ListingKind, Payout, Purchase, Rating, SellerTotals } from "./types.js";

/** Why a listing was not created. */
export type ListingRefusal = "limit" | "conflict";

/** Which active listings browse considers. */
export interface ListingFilter {
  readonly now: number;
  readonly domain?: string | undefined;
  readonly kind?: ListingKind | undefined;
  readonly maxPrice?: number | undefined;
  /** Most candidates read (newest first). */
  readonly limit: number;
}

/**
 * Listings. Obligations: `create` counts the user's active listings and inserts in one atomic
 * step (no two concurrent creates pass `maxActive` together), and refuses a second active
 * death archive of one golem (`conflict`); status changes happen only from `active` and answer
 * whether the row changed; `expire` and `purge` each change a row once, whatever runs them
 * concurrently.
 */
export interface ListingStore {
  createListing(listing: Listing, maxActive: number): Promise<ListingRefusal | undefined>;
  getListing(id: string): Promise<Listing | undefined>;
  /** Active, unexpired listings matching `filter`, newest first. */
  activeListings(filter: ListingFilter): Promise<Listing[]>;
  /** active → withdrawn | taken_down. */
  endListing(id: string, status: "withdrawn" | "taken_down", at: number): Promise<boolean>;
  /** Active listings whose `expiresAt` ≤ now become expired; returns them (up to `limit`). */
  expireListings(now: number, limit: number): Promise<Listing[]>;
  /** Ended listings (ended at or before `before`), not purged: their escrow wrap dropped, marked purged at `at`; returns them. */
  purgeListings(before: number, at: number, limit: number): Promise<Listing[]>;
  /** Every listing of `userId`, any status, newest first (the user's export). */
  listingsOfUser(userId: string, limit: number): Promise<Listing[]>;
  /** How many listings of `userId` are active (the §16.1 limit, checked before a listing's 402). */
  activeListingCount(userId: string): Promise<number>;
  /** Whether any unpurged listing of `userId` sells the blob `cid` (its reference is held). */
  holdsBlob(userId: string, cid: string): Promise<boolean>;
}

/**
 * Purchases. Obligations: `createPurchase` inserts under a unique (listing, buyer) among
 * unrevoked purchases — a second answers the existing one, writing nothing — and counts the
 * listing's sale in the same transaction; `settlePurchase` moves pending → payable and
 * `revokePurchase` pending|payable → revoked (uncounting the sale, dropping the buyer's
 * rating) — each from those states only, answering the purchase it changed.
 */
export interface PurchaseStore {
  createPurchase(p: Purchase): Promise<{ readonly created: true } | { readonly created: false; readonly existing: Purchase }>;
  getPurchase(id: string): Promise<Purchase | undefined>;
  /** The buyer's unrevoked purchase of a listing. */
  findPurchase(listingId: string, buyerUserId: string): Promise<Purchase | undefined>;
  /** The buyer's unrevoked purchases, newest first. */
  purchasesOfBuyer(buyerUserId: string, limit: number): Promise<Purchase[]>;
  settlePurchase(paymentId: string, at: number): Promise<Purchase | undefined>;
  revokePurchase(paymentId: string, at: number): Promise<Purchase | undefined>;
  /** Pending purchases (oldest first): reconciled against their payments. */
  pendingPurchases(limit: number): Promise<Purchase[]>;
}

/** Ratings. Obligation: one per (listing, buyer); `rate` inserts and updates the listing's sum and count atomically. */
export interface RatingStore {
  /** undefined: this buyer rated this listing before (nothing written). */
  rate(r: Rating): Promise<{ readonly sum: number; readonly count: number } | undefined>;
  recentRatings(listingId: string, limit: number): Promise<Rating[]>;
  /** The ratings `buyerUserId` gave, newest first (the user's export). */
  ratingsOfBuyer(buyerUserId: string, limit: number): Promise<Rating[]>;
}

/** What a seller has payable at one payout address. */
export interface Payable {
  readonly sellerUserId: string;
  readonly address: string;
  readonly amount: number;
}

/**
 * Payouts. Obligations: `createPayout` moves every payable purchase of (seller, address) to
 * due under the new payout and sums them in one transaction (none: no payout, undefined);
 * `markPaid` changes a due payout once (its purchases due → paid) and answers undefined for an
 * unknown id, `false` for one paid before.
 */
export interface PayoutStore {
  payables(): Promise<Payable[]>;
  createPayout(id: string, sellerUserId: string, address: string, at: number): Promise<Payout | undefined>;
  getPayout(id: string): Promise<Payout | undefined>;
  payouts(filter: {
    readonly status?: "due" | "paid" | undefined;
    readonly sellerUserId?: string | undefined;
    readonly limit: number;
  }): Promise<Payout[]>;
  markPaid(id: string, transaction: string, at: number): Promise<Payout | false | undefined>;
  sellerTotals(sellerUserId: string): Promise<SellerTotals>;
  /** How many unrevoked sales the seller has made. */
  salesCount(sellerUserId: string): Promise<number>;
  /** The seller's unrevoked sales, newest first. */
  sales(sellerUserId: string, limit: number): Promise<Purchase[]>;
}

/** The operator's figures (the dashboard): activity, money by where it is. Amounts atomic. */
export interface MarketplaceStats {
  readonly activeListings: number;
  /** Unrevoked purchases, and what their buyers paid: prices (volume) and fees. */
  readonly sales: number;
  readonly volume: number;
  readonly fees: number;
  /** Due payouts the operator has to pay, and their sum. */
  readonly duePayouts: number;
  readonly dueAmount: number;
}

/** The operator's view over every store. */
export interface MarketplaceStatsSource {
  stats(now: number): Promise<MarketplaceStats>;
}

/** Every marketplace store, as one adapter provides them (one database, one transaction scope). */
export type MarketplaceStore = ListingStore & PurchaseStore & RatingStore & PayoutStore & MarketplaceStatsSource;
