import type {
  Listing,
  ListingKind,
  ListingStatus,
  Payout,
  Provenance,
  Purchase,
  PurchaseState,
  Rating,
} from "../../core/marketplace/types.js";
import type { SqlRow } from "./codec.js";

/** Columns of `market_listings`, in the order the stores select them. */
export const LISTING_COLUMNS =
  "id, user_id, golem_id, kind, title, description, preview, domain, price, entry_count, content_cid, content_size, content_b3, escrow_kid, escrow_wrapped_cek, embedding, payout_address, provenance, status, created_at, expires_at, ended_at, purged_at, sales, rating_sum, rating_count";
/** Columns of `market_purchases`. */
export const PURCHASE_COLUMNS =
  "id, listing_id, seller_user_id, payout_address, buyer_user_id, buyer_golem_id, wrapped_cek, price, fee, payment_id, state, payout_id, created_at, updated_at";
/** Columns of `market_payouts`. */
export const PAYOUT_COLUMNS = "id, seller_user_id, address, amount, purchases, status, transaction_hash, created_at, paid_at";

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown) => v as string;
const strOrNull = (v: unknown) => (v === null || v === undefined ? null : (v as string));

/** A listing as named parameters of an insert (either engine). */
export function listingParams(l: Listing): Record<string, string | number | null> {
  return {
    id: l.id,
    user_id: l.userId,
    golem_id: l.golemId,
    kind: l.kind,
    title: l.title,
    description: l.description,
    preview: l.preview,
    domain: l.domain,
    price: l.price,
    entry_count: l.entryCount,
    content_cid: l.contentCid,
    content_size: l.contentSize,
    content_b3: l.contentB3,
    escrow_kid: l.escrowKid,
    escrow_wrapped_cek: l.escrowWrappedCek,
    embedding: l.embedding ? JSON.stringify(l.embedding) : null,
    payout_address: l.payoutAddress,
    provenance: l.provenance ? JSON.stringify(l.provenance) : null,
    status: l.status,
    created_at: l.createdAt,
    expires_at: l.expiresAt,
    ended_at: l.endedAt,
    purged_at: l.purgedAt,
    sales: l.sales,
    rating_sum: l.ratingSum,
    rating_count: l.ratingCount,
  };
}

/** A `market_listings` row as a listing. */
export function listingFromRow(r: SqlRow): Listing {
  return {
    id: str(r.id),
    userId: str(r.user_id),
    golemId: strOrNull(r.golem_id),
    kind: r.kind as ListingKind,
    title: str(r.title),
    description: str(r.description),
    preview: str(r.preview),
    domain: str(r.domain),
    price: num(r.price),
    entryCount: num(r.entry_count),
    contentCid: str(r.content_cid),
    contentSize: num(r.content_size),
    contentB3: str(r.content_b3),
    escrowKid: str(r.escrow_kid),
    escrowWrappedCek: strOrNull(r.escrow_wrapped_cek),
    embedding: r.embedding ? (JSON.parse(r.embedding as string) as number[]) : null,
    payoutAddress: str(r.payout_address),
    provenance: r.provenance ? (JSON.parse(r.provenance as string) as Provenance) : null,
    status: r.status as ListingStatus,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    endedAt: numOrNull(r.ended_at),
    purgedAt: numOrNull(r.purged_at),
    sales: num(r.sales),
    ratingSum: num(r.rating_sum),
    ratingCount: num(r.rating_count),
  };
}

/** A purchase as named parameters of an insert. */
export function purchaseParams(p: Purchase): Record<string, string | number | null> {
  return {
    id: p.id,
    listing_id: p.listingId,
    seller_user_id: p.sellerUserId,
    payout_address: p.payoutAddress,
    buyer_user_id: p.buyerUserId,
    buyer_golem_id: p.buyerGolemId,
    wrapped_cek: p.wrappedCek,
    price: p.price,
    fee: p.fee,
    payment_id: p.paymentId,
    state: p.state,
    payout_id: p.payoutId,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/** A `market_purchases` row as a purchase. */
export function purchaseFromRow(r: SqlRow): Purchase {
  return {
    id: str(r.id),
    listingId: str(r.listing_id),
    sellerUserId: str(r.seller_user_id),
    payoutAddress: str(r.payout_address),
    buyerUserId: str(r.buyer_user_id),
    buyerGolemId: strOrNull(r.buyer_golem_id),
    wrappedCek: str(r.wrapped_cek),
    price: num(r.price),
    fee: num(r.fee),
    paymentId: str(r.payment_id),
    state: r.state as PurchaseState,
    payoutId: strOrNull(r.payout_id),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** A `market_ratings` row as a rating. */
export function ratingFromRow(r: SqlRow): Rating {
  return {
    listingId: str(r.listing_id),
    buyerUserId: str(r.buyer_user_id),
    rating: num(r.rating),
    comment: strOrNull(r.comment),
    createdAt: num(r.created_at),
  };
}

/** A `market_payouts` row as a payout. */
export function payoutFromRow(r: SqlRow): Payout {
  return {
    id: str(r.id),
    sellerUserId: str(r.seller_user_id),
    address: str(r.address),
    amount: num(r.amount),
    purchases: num(r.purchases),
    status: r.status as "due" | "paid",
    transaction: strOrNull(r.transaction_hash),
    createdAt: num(r.created_at),
    paidAt: numOrNull(r.paid_at),
  };
}
