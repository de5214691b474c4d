/**
 * The marketplace's domain (SPEC §16): listings of encrypted knowledge packages, purchases paid
 * through x402, ratings by buyers, and the payout ledger owed to sellers. Amounts in atomic
 * units (USDC: 1 USD = 1,000,000), times in ms.
 */

/** What a listing sells. */
export const LISTING_KINDS = ["entries", "death_archive", "strategy"] as const;
/** One of LISTING_KINDS. */
export type ListingKind = (typeof LISTING_KINDS)[number];

/** Where a listing is in its life: only `active` ones show and sell. */
export type ListingStatus = "active" | "withdrawn" | "taken_down" | "expired";

/** A death archive's public origin: its golem's death, never the golem's id. */
export interface Provenance {
  /** The bloodstain's time (ms). */
  readonly bloodstain: number;
  readonly generation: number;
  readonly ticksLived: number;
}

/** A listing as the store keeps it. `userId` and `golemId` never leave Styx. */
export interface Listing {
  readonly id: string;
  readonly userId: string;
  /** The golem listed for (a death archive's dead golem, or a golem credential's own). */
  readonly golemId: string | null;
  readonly kind: ListingKind;
  /** Public fields, already through the public pipeline (SPEC §4.2). */
  readonly title: string;
  readonly description: string;
  readonly preview: string;
  readonly domain: string;
  readonly price: number;
  readonly entryCount: number;
  readonly contentCid: string;
  readonly contentSize: number;
  readonly contentB3: string;
  readonly escrowKid: string;
  /** The CEK wrapped to the escrow key; null once purged. */
  readonly escrowWrappedCek: string | null;
  readonly embedding: readonly number[] | null;
  readonly payoutAddress: string;
  readonly provenance: Provenance | null;
  readonly status: ListingStatus;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** When it stopped being active (withdrawn, taken down, expired); null while active. */
  readonly endedAt: number | null;
  /** When its ciphertext reference and escrow wrap were purged; null before. */
  readonly purgedAt: number | null;
  /** Unrevoked purchases. */
  readonly sales: number;
  readonly ratingSum: number;
  readonly ratingCount: number;
}

/**
 * Where a purchase's money is (SPEC §16.3): `pending` while its payment is accepted, `payable`
 * once settled, `due` in a payout the operator has to pay, `paid`; `revoked` when the payment
 * failed to settle (no longer owed, no longer downloadable, no rating).
 */
export type PurchaseState = "pending" | "payable" | "due" | "paid" | "revoked";

/** A purchase. `buyerUserId`/`buyerGolemId` are never shown to a seller or the public. */
export interface Purchase {
  readonly id: string;
  readonly listingId: string;
  readonly sellerUserId: string;
  readonly payoutAddress: string;
  readonly buyerUserId: string;
  readonly buyerGolemId: string | null;
  /** The CEK wrapped to the buyer's X25519 key. */
  readonly wrappedCek: string;
  /** What the seller is owed. */
  readonly price: number;
  /** The protocol fee the buyer paid on top (kept by the operator). */
  readonly fee: number;
  readonly paymentId: string;
  readonly state: PurchaseState;
  readonly payoutId: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A buyer's rating of a listing. */
export interface Rating {
  readonly listingId: string;
  readonly buyerUserId: string;
  readonly rating: number;
  readonly comment: string | null;
  readonly createdAt: number;
}

/** A payout: what one seller is owed at one address, for the operator to pay and record. */
export interface Payout {
  readonly id: string;
  readonly sellerUserId: string;
  readonly address: string;
  readonly amount: number;
  readonly purchases: number;
  readonly status: "due" | "paid";
  readonly transaction: string | null;
  readonly createdAt: number;
  readonly paidAt: number | null;
}

/** A seller's money by state (atomic units). */
export interface SellerTotals {
  readonly pending: number;
  readonly payable: number;
  readonly due: number;
  readonly paid: number;
}

/** The protocol fee on a price: ⌈5 · price / 100⌉ atomic units (SPEC §19.1: on top, the seller gets the whole price). */
export function purchaseFee(price: number): number {
  return Math.ceil((5 * price) / 100);
}

/** Largest active listings per user (SPEC §16.1). */
export const MAX_ACTIVE_LISTINGS = 100;
