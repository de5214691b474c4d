import type { DeathStore } from "../coordination/death.js";
import type { EventBus } from "../fabric/event-bus.js";
import { domainStream, PUBLIC_STREAM, userStream } from "../fabric/streams.js";
import type { IdentityStore } from "../identity/identity-store.js";
import { actorOf, type CallContext, isGolemCredential, type Principal } from "../identity/principal.js";
import type { Tenancy } from "../identity/tenancy.js";
import { atomicToUsd } from "../payments/money.js";
import type { AuditLog } from "../platform/audit.js";
import type { BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { type SecretKey, userSourceHash } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import { buyerId } from "./buyer.js";
import { CEK_BYTES, type Escrow } from "./escrow.js";
import { type RankQuery, rank } from "./ranking.js";
import type { MarketplaceStore } from "./store.js";
import { type Listing, type ListingKind, MAX_ACTIVE_LISTINGS, type Purchase, purchaseFee } from "./types.js";

/**
 * A user principal (the marketplace's callers besides the public and the admin); `buyerRef` when a
 * federate key buys for a downstream's user (SPEC §17.2 item 4: the buyer is then the pair).
 */
export type UserCaller = Extract<Principal, { kind: "user" }> & { readonly buyerRef?: string | undefined };

/** The buyer id of a caller: its user id, or (federation user, buyer ref) for a downstream's user. */
function buyerOf(caller: UserCaller): string {
  return buyerId(caller.userId, caller.buyerRef);
}

/** A new listing as the seller sends it (validated by the route's schema). */
export interface ListingInput {
  readonly kind: ListingKind;
  readonly title: string;
  readonly description: string;
  readonly preview: string;
  readonly domain: string;
  readonly price: number;
  readonly golemId?: string | undefined;
  readonly entryCount: number;
  readonly contentCid: string;
  readonly contentSize: number;
  readonly contentB3: string;
  readonly escrowKid: string;
  readonly escrowWrappedCek: string;
  readonly embedding?: readonly number[] | undefined;
  readonly ttlMs?: number | undefined;
  readonly payoutAddress?: string | undefined;
}

/** A browse request (SPEC §16.2). */
export interface BrowseInput extends RankQuery {
  readonly domain?: string | undefined;
  readonly kind?: ListingKind | undefined;
  readonly maxPrice?: number | undefined;
  readonly minRating?: number | undefined;
  readonly sort: "rank" | "newest" | "price";
  readonly offset: number;
  readonly limit: number;
}

/** The public face of a listing's seller: a keyed hash, never an id. */
export interface SellerView {
  readonly hash: string;
  readonly reputation: number;
  readonly sales: number;
}

/** A listing as browse shows it. */
export interface BrowsedListing {
  readonly listing: Listing;
  readonly seller: SellerView;
  readonly score: number;
}

/** What a paid purchase answers (and re-reading it repeats). */
export interface PurchaseView {
  readonly purchase: Purchase;
  readonly listing: Listing;
}

/** The marketplace's settings (STYX_LISTING_TTL, STYX_LISTING_MAX_TTL). */
export interface MarketplaceSettings {
  readonly listingTtlMs: number;
  readonly listingMaxTtlMs: number;
}

/** Dependencies of the marketplace service. */
export interface MarketplaceDeps {
  readonly store: MarketplaceStore;
  readonly escrow: Escrow;
  readonly identity: Pick<IdentityStore, "getUser" | "getGolem">;
  readonly tenancy: Pick<Tenancy, "golem" | "ownerOnly">;
  readonly deaths: Pick<DeathStore, "find">;
  readonly blobs: Pick<BlobStore, "stat" | "read">;
  readonly pipeline: Pick<PublicPipeline, "text" | "required" | "remember">;
  readonly secret: SecretKey;
  readonly audit: Pick<AuditLog, "append">;
  readonly bus: Pick<EventBus, "publish">;
  readonly clock: Clock;
  readonly settings: MarketplaceSettings;
  /** Metrics: a purchase's outcome, and the fee it earned. */
  readonly observe?: { purchase(outcome: "paid" | "settled" | "revoked"): void; fee(atomic: number): void } | undefined;
  readonly warn?: ((msg: string, err?: unknown) => void) | undefined;
}

/** Candidates browse ranks (newest active listings first). */
const BROWSE_CANDIDATES = 5000;
/** Ratings shown with one listing. */
const RECENT_RATINGS = 20;

const gone = () => new StyxError("STYX_LISTING_GONE");
const notFound = () => new StyxError("STYX_NOT_FOUND", "No such listing.");

/**
 * The marketplace of SPEC §16: listings of encrypted packages (Styx checks the escrow wrap and
 * never decrypts a package), free anonymous browse ranked by §16.2's formula, purchases paid
 * through x402 at price + ⌈5 %⌉ with the CEK re-wrapped for the buyer, re-downloads and ratings
 * by buyers. No user, golem or buyer id reaches a public answer or event: sellers appear as the
 * keyed hash of their user id (§3). Every escrow opening is audited `marketplace.escrow.open`.
 */
export class MarketplaceService {
  readonly #d: MarketplaceDeps;

  constructor(deps: MarketplaceDeps) {
    this.#d = deps;
  }

  /** The escrow key sellers wrap to (the newest kid). */
  escrowKey(): { kid: string; publicKey: string } {
    const keys = this.#d.escrow.keys();
    return keys[keys.length - 1] as { kid: string; publicKey: string };
  }

  /** A seller's public stand-in: the keyed hash of the user id (SPEC §3). */
  sellerHash(userId: string): string {
    return userSourceHash(this.#d.secret, userId);
  }

  /**
   * The refusals of a new listing (SPEC §16.1), without writing it: what runs before its 402, so
   * a 402 only ever means "listed once paid". Opens the escrow wrap (audited).
   */
  async checkListing(caller: UserCaller, input: ListingInput, ctx: CallContext = {}): Promise<void> {
    await this.#prepare(caller, input, ctx);
  }

  /** Lists a package (SPEC §16.1); the refusals of the spec, in the order a seller can fix them. */
  async createListing(caller: UserCaller, input: ListingInput, ctx: CallContext = {}): Promise<Listing> {
    const d = this.#d;
    const listing = await this.#prepare(caller, input, ctx);
    const refused = await d.store.createListing(listing, MAX_ACTIVE_LISTINGS);
    if (refused === "limit") throw new StyxError("STYX_LISTING_LIMIT", undefined, { details: { limit: MAX_ACTIVE_LISTINGS } });
    if (refused === "conflict") throw new StyxError("STYX_CONFLICT", "This golem's death archive is already listed.");
    const seller = await this.#seller(caller.userId);
    const payload = {
      id: listing.id,
      kind: listing.kind,
      title: listing.title,
      price_usd: atomicToUsd(listing.price),
      seller: { hash: seller.hash, reputation: seller.reputation },
    };
    await this.#publish(domainStream(listing.domain), "styx:marketplace:listed", payload);
    await this.#publish(PUBLIC_STREAM, "styx:marketplace:listed", payload);
    return listing;
  }

  async #prepare(caller: UserCaller, input: ListingInput, ctx: CallContext): Promise<Listing> {
    const d = this.#d;
    const now = d.clock.now();
    let golemId: string | null = null;
    let provenance: Listing["provenance"] = null;
    if (input.kind === "death_archive") {
      d.tenancy.ownerOnly(caller);
      if (input.golemId === undefined)
        throw new StyxError("STYX_VALIDATION", "A death archive names its golem.", {
          details: [{ in: "body", path: "/golem_id", message: "is required for a death archive" }],
        });
      const golem = await d.tenancy.golem(caller, input.golemId, ctx);
      const death = await d.deaths.find(golem.id);
      if (!death) throw new StyxError("STYX_GOLEM_NOT_DEAD", undefined, { details: { golem_id: golem.id } });
      golemId = golem.id;
      provenance = { bloodstain: death.diedAt, generation: death.generation, ticksLived: death.ticksLived };
    } else if (input.golemId !== undefined) {
      golemId = (await d.tenancy.golem(caller, input.golemId, ctx)).id;
    } else if (isGolemCredential(caller)) golemId = caller.golemId;
    // SPEC §16.1: the limit is a refusal before the 402 (the store checks it again atomically on write).
    if ((await d.store.activeListingCount(caller.userId)) >= MAX_ACTIVE_LISTINGS)
      throw new StyxError("STYX_LISTING_LIMIT", undefined, { details: { limit: MAX_ACTIVE_LISTINGS } });
    if (!(await d.blobs.stat(caller.userId, input.contentCid))) throw new StyxError("STYX_NOT_FOUND", "No such blob.");
    const cek = this.#open(input.escrowKid, input.escrowWrappedCek, input.contentCid);
    await d.audit.append({
      actor: actorOf(caller),
      action: "marketplace.escrow.open",
      target: input.contentCid,
      details: { purpose: "check", valid: cek !== undefined },
      ...auditCtx(ctx),
    });
    if (!cek) throw new StyxError("STYX_ESCROW_INVALID");
    cek.fill(0);
    const user = await d.identity.getUser(caller.userId);
    const payoutAddress = input.payoutAddress ?? user?.walletAddress ?? undefined;
    if (!payoutAddress) throw new StyxError("STYX_PAYOUT_ADDRESS_REQUIRED");
    const ttl = input.ttlMs ?? d.settings.listingTtlMs;
    if (ttl > d.settings.listingMaxTtlMs)
      throw new StyxError("STYX_VALIDATION", undefined, {
        details: [{ in: "body", path: "/ttl_seconds", message: `must be at most ${d.settings.listingMaxTtlMs / 1000}` }],
      });
    const writer = { userId: caller.userId };
    const listing: Listing = {
      id: newId("lst"),
      userId: caller.userId,
      golemId,
      kind: input.kind,
      title: await d.pipeline.text(input.title, writer),
      description: await d.pipeline.text(input.description, writer),
      preview: await d.pipeline.text(input.preview, writer),
      domain: d.pipeline.required(input.domain, writer, "/domain"),
      price: input.price,
      entryCount: input.entryCount,
      contentCid: input.contentCid,
      contentSize: input.contentSize,
      contentB3: input.contentB3,
      escrowKid: input.escrowKid,
      escrowWrappedCek: input.escrowWrappedCek,
      embedding: input.embedding ?? null,
      payoutAddress: payoutAddress.toLowerCase(),
      provenance,
      status: "active",
      createdAt: now,
      expiresAt: now + ttl,
      endedAt: null,
      purgedAt: null,
      sales: 0,
      ratingSum: 0,
      ratingCount: 0,
    };
    return listing;
  }

  /** Free, anonymous browse of active listings (SPEC §16.2). */
  async browse(q: BrowseInput): Promise<{ listings: BrowsedListing[]; next: number | null }> {
    const now = this.#d.clock.now();
    let candidates = await this.#d.store.activeListings({
      now,
      domain: q.domain,
      kind: q.kind,
      maxPrice: q.maxPrice,
      limit: BROWSE_CANDIDATES,
    });
    if (q.minRating !== undefined) {
      const min = q.minRating;
      candidates = candidates.filter((l) => l.ratingCount > 0 && l.ratingSum / l.ratingCount >= min);
    }
    const sellers = new Map<string, SellerView>();
    for (const l of candidates) if (!sellers.has(l.userId)) sellers.set(l.userId, await this.#seller(l.userId));
    const seller = (l: Listing) => sellers.get(l.userId) as SellerView;
    const ranked = rank(
      candidates.map((l) => ({ ...l, text: `${l.title} ${l.description} ${l.preview}`, reputation: seller(l).reputation, listing: l })),
      q,
      now,
    );
    if (q.sort === "newest") ranked.sort((a, b) => b.item.createdAt - a.item.createdAt || cmp(a.item.id, b.item.id));
    if (q.sort === "price")
      ranked.sort((a, b) => a.item.price - b.item.price || b.item.createdAt - a.item.createdAt || cmp(a.item.id, b.item.id));
    const page = ranked.slice(q.offset, q.offset + q.limit);
    return {
      listings: page.map((r) => ({ listing: r.item.listing, seller: seller(r.item.listing), score: r.score })),
      next: q.offset + q.limit < ranked.length ? q.offset + q.limit : null,
    };
  }

  /** One active listing with its last 20 ratings; anything else answers 404. */
  async listing(
    id: string,
  ): Promise<{ listing: BrowsedListing; ratings: { rating: number; comment: string | null; createdAt: number }[] }> {
    const l = await this.#d.store.getListing(id);
    if (!l || !active(l, this.#d.clock.now())) throw notFound();
    const ratings = await this.#d.store.recentRatings(id, RECENT_RATINGS);
    return {
      listing: { listing: l, seller: await this.#seller(l.userId), score: 0 },
      ratings: ratings.map((r) => ({ rating: r.rating, comment: r.comment, createdAt: r.createdAt })),
    };
  }

  /**
   * What buying `listingId` costs `caller` (price + fee), after the refusals that come before any
   * 402: 404 unknown, 410 gone, 409 own listing, 409 already bought (with the purchase's id).
   */
  async quote(
    caller: UserCaller,
    listingId: string,
    golemId?: string | undefined,
    ctx: CallContext = {},
  ): Promise<{ listing: Listing; price: number; fee: number; total: number }> {
    // The golem bought for is the caller's (a golem credential: its own only), refused before the 402.
    if (golemId !== undefined) await this.#buyerGolem(caller, golemId, ctx);
    const l = await this.#d.store.getListing(listingId);
    if (!l) throw notFound();
    if (!active(l, this.#d.clock.now())) throw gone();
    if (l.userId === caller.userId) throw new StyxError("STYX_OWN_LISTING");
    const before = await this.#d.store.findPurchase(l.id, buyerOf(caller));
    if (before) throw new StyxError("STYX_ALREADY_PURCHASED", undefined, { details: { purchase_id: before.id } });
    const fee = purchaseFee(l.price);
    return { listing: l, price: l.price, fee, total: l.price + fee };
  }

  /**
   * A paid purchase: the escrow wrap opened (audited) and the CEK wrapped to `buyerPublicKey`.
   * `paymentId` is the x402 payment reserved for exactly `quote(...).total`.
   */
  async purchase(
    caller: UserCaller,
    listingId: string,
    input: { buyerPublicKey: string; golemId?: string | undefined; paymentId: string },
    ctx: CallContext = {},
  ): Promise<PurchaseView> {
    const d = this.#d;
    const buyerGolem = input.golemId !== undefined ? await this.#buyerGolem(caller, input.golemId, ctx) : caller.golemId;
    const { listing, price, fee } = await this.quote(caller, listingId);
    if (listing.escrowWrappedCek === null) throw gone();
    const cek = this.#open(listing.escrowKid, listing.escrowWrappedCek, listing.contentCid);
    await d.audit.append({
      actor: actorOf(caller),
      action: "marketplace.escrow.open",
      target: listing.id,
      details: { purpose: "rewrap", valid: cek !== undefined },
      ...auditCtx(ctx),
    });
    if (!cek) throw new Error(`the escrow wrap of listing ${listing.id} no longer opens`);
    let wrapped: string | undefined;
    try {
      wrapped = d.escrow.wrap(input.buyerPublicKey, cek, listing.contentCid);
    } finally {
      cek.fill(0);
    }
    if (wrapped === undefined)
      throw new StyxError("STYX_VALIDATION", undefined, {
        details: [{ in: "body", path: "/buyer_public_key", message: "is not an X25519 public key" }],
      });
    const now = d.clock.now();
    const purchase: Purchase = {
      id: newId("pur"),
      listingId: listing.id,
      sellerUserId: listing.userId,
      payoutAddress: listing.payoutAddress,
      buyerUserId: buyerOf(caller),
      buyerGolemId: buyerGolem,
      wrappedCek: wrapped,
      price,
      fee,
      paymentId: input.paymentId,
      state: "pending",
      payoutId: null,
      createdAt: now,
      updatedAt: now,
    };
    const made = await d.store.createPurchase(purchase);
    if (!made.created) throw new StyxError("STYX_ALREADY_PURCHASED", undefined, { details: { purchase_id: made.existing.id } });
    d.observe?.purchase("paid");
    d.observe?.fee(fee);
    const sales = listing.sales + 1;
    await this.#publish(domainStream(listing.domain), "styx:marketplace:sold", {
      id: listing.id,
      price_usd: atomicToUsd(price),
      purchases: sales,
    });
    await this.#publish(userStream(listing.userId), "styx:marketplace:sold", {
      id: listing.id,
      price_usd: atomicToUsd(price),
      purchases: sales,
      purchase_id: purchase.id,
      payout_usd: atomicToUsd(price),
    });
    return { purchase, listing };
  }

  /** The caller's purchases (unrevoked), newest first. */
  async purchases(caller: UserCaller, limit: number): Promise<PurchaseView[]> {
    const out: PurchaseView[] = [];
    for (const p of await this.#d.store.purchasesOfBuyer(buyerOf(caller), limit)) {
      const l = await this.#d.store.getListing(p.listingId);
      if (l) out.push({ purchase: p, listing: l });
    }
    return out;
  }

  /** One of the caller's unrevoked purchases; anything else (another's, a revoked one) answers 404. */
  async getPurchase(caller: UserCaller, id: string): Promise<PurchaseView> {
    const p = await this.#d.store.getPurchase(id);
    const l = p ? await this.#d.store.getListing(p.listingId) : undefined;
    if (!p || !l || p.buyerUserId !== buyerOf(caller) || p.state === "revoked") throw new StyxError("STYX_NOT_FOUND", "No such purchase.");
    return { purchase: p, listing: l };
  }

  /** The ciphertext of a purchase (the seller's blob, read on the buyer's behalf); 404 once purged. */
  async content(caller: UserCaller, id: string): Promise<{ purchase: PurchaseView; userId: string; cid: string }> {
    const view = await this.getPurchase(caller, id);
    if (view.listing.purgedAt !== null) throw new StyxError("STYX_NOT_FOUND", "The package was purged after its retention.");
    return { purchase: view, userId: view.listing.userId, cid: view.listing.contentCid };
  }

  /** A buyer's rating (once), expiry or not; → the listing's new average and count. */
  async rate(caller: UserCaller, listingId: string, rating: number, comment: string | undefined): Promise<{ avg: number; count: number }> {
    const d = this.#d;
    const l = await d.store.getListing(listingId);
    if (!l) throw notFound();
    const bought = await d.store.findPurchase(listingId, buyerOf(caller));
    if (!bought) throw new StyxError("STYX_NOT_A_BUYER");
    const text = comment === undefined ? null : await d.pipeline.text(comment, { userId: caller.userId });
    const r = await d.store.rate({ listingId, buyerUserId: buyerOf(caller), rating, comment: text, createdAt: d.clock.now() });
    if (!r) throw new StyxError("STYX_ALREADY_RATED");
    const avg = Math.round((r.sum / r.count) * 100) / 100;
    const payload = { id: listingId, rating, avg, count: r.count };
    await this.#publish(domainStream(l.domain), "styx:marketplace:rated", payload);
    await this.#publish(userStream(l.userId), "styx:marketplace:rated", payload);
    return { avg, count: r.count };
  }

  /** The seller withdraws an active listing (buyers keep their purchases). */
  async withdraw(caller: UserCaller, id: string, ctx: CallContext = {}): Promise<Listing> {
    const l = await this.#d.store.getListing(id);
    if (!l || l.userId !== caller.userId || (l.kind === "death_archive" && isGolemCredential(caller))) throw notFound();
    if (isGolemCredential(caller) && l.golemId !== caller.golemId) throw notFound();
    if (!(await this.#d.store.endListing(id, "withdrawn", this.#d.clock.now()))) throw gone();
    await this.#d.audit.append({ actor: actorOf(caller), action: "marketplace.withdraw", target: id, ...auditCtx(ctx) });
    return (await this.#d.store.getListing(id)) as Listing;
  }

  /** The operator takes a listing down (audited). */
  async takeDown(id: string, ctx: CallContext = {}): Promise<Listing> {
    const l = await this.#d.store.getListing(id);
    if (!l) throw notFound();
    if (!(await this.#d.store.endListing(id, "taken_down", this.#d.clock.now()))) throw gone();
    await this.#d.audit.append({ actor: "admin", action: "marketplace.take_down", target: id, ...auditCtx(ctx) });
    return (await this.#d.store.getListing(id)) as Listing;
  }

  /**
   * The golem a purchase is for: the caller's (tenancy). A downstream's buyer names none: its
   * Styx never sends a local golem id, and the federation user's golems are not its buyers'.
   */
  async #buyerGolem(caller: UserCaller, golemId: string, ctx: CallContext): Promise<string> {
    if (caller.buyerRef !== undefined)
      throw new StyxError("STYX_VALIDATION", "A downstream's buyer names no golem.", {
        details: [{ in: "body", path: "/golem_id", message: "is not sent for a downstream's buyer" }],
      });
    return (await this.#d.tenancy.golem(caller, golemId, ctx)).id;
  }

  /** The public face of `userId` as a seller. */
  async #seller(userId: string): Promise<SellerView> {
    const user = await this.#d.identity.getUser(userId);
    return { hash: this.sellerHash(userId), reputation: user?.reputation ?? 0, sales: await this.#d.store.salesCount(userId) };
  }

  #open(kid: string, wrapped: string, cid: string): Uint8Array | undefined {
    const cek = this.#d.escrow.open(kid, wrapped, cid);
    if (cek && cek.length !== CEK_BYTES) {
      cek.fill(0);
      return undefined;
    }
    return cek;
  }

  async #publish(stream: string, channel: string, payload: Record<string, unknown>): Promise<void> {
    try {
      await this.#d.bus.publish({ stream, channel, payload });
    } catch (err) {
      this.#d.warn?.(`${channel} could not be published`, err);
    }
  }
}

/** Whether a listing shows and sells at `now`. */
export function active(l: Listing, now: number): boolean {
  return l.status === "active" && l.expiresAt > now;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function auditCtx(ctx: CallContext): { requestId?: string; ip?: string } {
  return { ...(ctx.requestId ? { requestId: ctx.requestId } : {}), ...(ctx.ip ? { ip: ctx.ip } : {}) };
}
