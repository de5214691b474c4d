import type { BrowsedListing, PurchaseView } from "../../core/marketplace/marketplace-service.js";
import type { SellerLedger } from "../../core/marketplace/payout-ledger.js";
import { type Listing, type Payout, purchaseFee } from "../../core/marketplace/types.js";
import { atomicToUsd } from "../../core/payments/money.js";
import { iso } from "../../core/platform/clock.js";

/** A listing's public fields (SPEC §16.2): never its user, golem, payout address or escrow wrap. */
export function presentListing(b: BrowsedListing) {
  const l = b.listing;
  return {
    id: l.id,
    kind: l.kind,
    title: l.title,
    description: l.description,
    preview: l.preview,
    domain: l.domain,
    price_usd: atomicToUsd(l.price),
    total_usd: atomicToUsd(l.price + purchaseFee(l.price)),
    entry_count: l.entryCount,
    content_size: l.contentSize,
    ...(l.provenance
      ? {
          provenance: {
            bloodstain: iso(l.provenance.bloodstain),
            generation: l.provenance.generation,
            ticks_lived: l.provenance.ticksLived,
          },
        }
      : {}),
    seller: b.seller,
    rating: { avg: l.ratingCount === 0 ? null : Math.round((l.ratingSum / l.ratingCount) * 100) / 100, count: l.ratingCount },
    purchases: l.sales,
    score: Math.round(b.score * 1e6) / 1e6,
    created_at: iso(l.createdAt),
    expires_at: iso(l.expiresAt),
  };
}

/** A new listing's answer. */
export function presentCreated(l: Listing) {
  return { id: l.id, status: l.status, expires_at: iso(l.expiresAt), total_usd: atomicToUsd(l.price + purchaseFee(l.price)) };
}

/** A purchase as its buyer sees it. */
export function presentPurchase(v: PurchaseView) {
  const { purchase: p, listing: l } = v;
  return {
    purchase_id: p.id,
    listing_id: l.id,
    title: l.title,
    kind: l.kind,
    wrapped_cek: p.wrappedCek,
    content_cid: l.contentCid,
    content_size: l.contentSize,
    content_b3: l.contentB3,
    price_usd: atomicToUsd(p.price),
    fee_usd: atomicToUsd(p.fee),
    payment_id: p.paymentId,
    created_at: iso(p.createdAt),
  };
}

/** A payout (its seller shown by hash to the operator, not at all to the seller). */
export function presentPayout(p: Payout) {
  return {
    id: p.id,
    address: p.address,
    amount_usd: atomicToUsd(p.amount),
    purchases: p.purchases,
    status: p.status,
    transaction: p.transaction,
    created_at: iso(p.createdAt),
    paid_at: p.paidAt === null ? null : iso(p.paidAt),
  };
}

/** The seller's ledger: no buyer appears. */
export function presentSellerLedger(s: SellerLedger) {
  return {
    pending_usd: atomicToUsd(s.totals.pending),
    payable_usd: atomicToUsd(s.totals.payable),
    due_usd: atomicToUsd(s.totals.due),
    paid_usd: atomicToUsd(s.totals.paid),
    payouts: s.payouts.map(presentPayout),
    sales: s.sales.map((p) => ({
      listing_id: p.listingId,
      purchase_id: p.id,
      price_usd: atomicToUsd(p.price),
      state: p.state,
      created_at: iso(p.createdAt),
    })),
  };
}
