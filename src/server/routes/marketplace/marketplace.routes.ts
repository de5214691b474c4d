import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ListingInput, MarketplaceService } from "../../../core/marketplace/marketplace-service.js";
import type { PayoutLedger } from "../../../core/marketplace/payout-ledger.js";
import type { MarketplaceStatsSource } from "../../../core/marketplace/store.js";
import { ATOMIC_PER_USD, usdToAtomic } from "../../../core/payments/money.js";
import type { BlobStore } from "../../../core/platform/blob-store.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import {
  AdminPayout,
  AdminPayoutsAnswer,
  AdminPayoutsQuery,
  BrowseAnswer,
  BrowseQuery,
  CreatedListing,
  CreateListingBody,
  EndedListing,
  EscrowKeyAnswer,
  ListingAnswer,
  ListingParams,
  PaidBody,
  PayoutParams,
  PurchaseAnswer,
  PurchaseBody,
  PurchaseParams,
  PurchasesAnswer,
  PurchasesQuery,
  RatingAnswer,
  RatingBody,
  SearchBody,
  SellerPayoutsAnswer,
} from "../../../protocol/marketplace.js";
import { buyerPrincipal, userPrincipal } from "../../context.js";
import { presentCreated, presentListing, presentPayout, presentPurchase, presentSellerLedger } from "../../presenters/marketplace.js";
import { parseRange } from "../blobs/range.js";

/**
 * While STYX_MARKETPLACE=0 no marketplace route is registered, and any path under the
 * marketplace answers 404 STYX_MARKETPLACE_DISABLED (from the not-found handler) instead of
 * STYX_ROUTE_NOT_FOUND.
 */
export function marketplaceDisabled(path: string): StyxError | undefined {
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  return under("/v1/styx/marketplace") || under("/v1/admin/marketplace") ? new StyxError("STYX_MARKETPLACE_DISABLED") : undefined;
}

/** What the marketplace routes need. */
export interface MarketplaceRouteDeps {
  readonly service: MarketplaceService;
  readonly ledger: PayoutLedger;
  readonly blobs: Pick<BlobStore, "stat" | "read">;
  readonly dimensions: number;
  /** The operator's figures (the dashboard's marketplace panel). */
  readonly stats: MarketplaceStatsSource;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody };
const tags = ["marketplace"];
/** SPEC §16.1: a listing's price lies within 0.001–1000 USD. */
const MIN_PRICE = 1000;
const MAX_PRICE = 1000 * ATOMIC_PER_USD;

/** A USD field as atomic units within [min, max], or 400 STYX_VALIDATION at `path`. */
function usd(value: string, path: string, min: number, max: number): number {
  const atomic = usdToAtomic(value);
  if (atomic < min || atomic > max)
    throw new StyxError("STYX_VALIDATION", undefined, {
      details: [{ in: "body", path, message: `must be between ${min / ATOMIC_PER_USD} and ${max / ATOMIC_PER_USD} USD` }],
    });
  return atomic;
}

/** A listing body in the core's terms (the price checked against 0.001–1000 USD). */
export function listingInput(b: CreateListingBody): ListingInput {
  return {
    kind: b.kind,
    title: b.title,
    description: b.description,
    preview: b.preview,
    domain: b.domain,
    price: usd(b.price_usd, "/price_usd", MIN_PRICE, MAX_PRICE),
    golemId: b.golem_id,
    entryCount: b.entry_count,
    contentCid: b.content_cid,
    contentSize: b.content_size,
    contentB3: b.content_b3,
    escrowKid: b.escrow_kid,
    escrowWrappedCek: b.escrow_wrapped_cek,
    embedding: b.embedding,
    ttlMs: b.ttl_seconds === undefined ? undefined : b.ttl_seconds * 1000,
    payoutAddress: b.payout_address,
  };
}

/**
 * The marketplace of SPEC §16: the escrow key, listings (paid `listing`), free anonymous browse
 * and search, purchases (paid price + fee through the payments plugin's per-request price),
 * re-downloads, ratings, the seller's payouts and the operator's payout and take-down routes.
 */
export function marketplaceRoutes(app: FastifyInstance, deps: MarketplaceRouteDeps): void {
  const { service, ledger, blobs } = deps;
  const ctx = (req: { id: string; ip: string }) => ({ requestId: req.id, ip: req.ip });

  app.get(
    "/v1/styx/marketplace/escrow-key",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: "The escrow X25519 key sellers wrap a package's content key to",
        response: { 200: EscrowKeyAnswer, 429: ErrorBody },
      },
    },
    async () => {
      const k = service.escrowKey();
      return { kid: k.kid, public_key: k.publicKey };
    },
  );

  app.post<{ Body: CreateListingBody }>(
    "/v1/styx/marketplace/listings",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: "List an encrypted package (paid: the `listing` price)",
        description:
          "The package is a blob you stored (nonce ‖ AES-256-GCM ciphertext ‖ tag); `escrow_wrapped_cek` wraps its content key to the escrow key with `content_cid` as AAD. Styx opens the wrap to check it (audited) and never decrypts the package.",
        body: CreateListingBody(deps.dimensions),
        response: { 201: CreatedListing, ...errors },
      },
    },
    async (req, reply) => {
      const listing = await service.createListing(userPrincipal(req), listingInput(req.body), ctx(req));
      return reply.code(201).send(presentCreated(listing));
    },
  );

  const browse = async (q: BrowseQuery & { embedding?: number[] | undefined }) => {
    const offset = q.cursor === undefined ? 0 : Number(q.cursor);
    const r = await service.browse({
      text: q.query,
      embedding: q.embedding,
      domain: q.domain,
      kind: q.kind,
      maxPrice: q.max_price_usd === undefined ? undefined : usdToAtomic(q.max_price_usd),
      minRating: q.min_rating,
      sort: q.sort ?? "rank",
      offset,
      limit: q.limit ?? 20,
    });
    return { listings: r.listings.map(presentListing), next_cursor: r.next === null ? null : String(r.next) };
  };

  app.get<{ Querystring: BrowseQuery }>(
    "/v1/styx/marketplace/listings",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: "Browse active listings (free, no credential): ranked, filtered, paged",
        querystring: BrowseQuery,
        response: { 200: BrowseAnswer, 400: ErrorBody },
      },
    },
    async (req) => browse(req.query),
  );

  app.post<{ Body: SearchBody }>(
    "/v1/styx/marketplace/listings/search",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: "Browse with an embedding of the query (free, no credential)",
        body: SearchBody(deps.dimensions),
        response: { 200: BrowseAnswer, 400: ErrorBody },
      },
    },
    async (req) => browse(req.body),
  );

  app.get<{ Params: ListingParams }>(
    "/v1/styx/marketplace/listings/:id",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: "One active listing with its last 20 ratings",
        params: ListingParams,
        response: { 200: ListingAnswer, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const r = await service.listing(req.params.id);
      return {
        ...presentListing(r.listing),
        ratings: r.ratings.map((x) => ({ rating: x.rating, comment: x.comment, created_at: new Date(x.createdAt).toISOString() })),
      };
    },
  );

  app.delete<{ Params: ListingParams }>(
    "/v1/styx/marketplace/listings/:id",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: "Withdraw your listing (buyers keep their purchases)",
        params: ListingParams,
        response: { 200: EndedListing, ...errors },
      },
    },
    async (req) => {
      const l = await service.withdraw(userPrincipal(req), req.params.id, ctx(req));
      return { id: l.id, status: l.status };
    },
  );

  app.post<{ Params: ListingParams; Body: PurchaseBody }>(
    "/v1/styx/marketplace/listings/:id/purchase",
    {
      config: { golemCredential: "own", federatedBuyer: true },
      schema: {
        tags,
        summary: "Buy a listing: x402 at price + ⌈5 %⌉; the content key comes wrapped to your X25519 key",
        description:
          "Refused before any 402: your own listing (409 STYX_OWN_LISTING), bought before (409 STYX_ALREADY_PURCHASED, details.purchase_id), withdrawn or expired (410 STYX_LISTING_GONE).",
        params: ListingParams,
        body: PurchaseBody,
        response: { 201: PurchaseAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const paymentId = req.payment?.id;
      // The payments plugin runs first on this route; without a payment there is no purchase.
      if (paymentId === undefined) throw new StyxError("STYX_PAYMENT_REQUIRED");
      const view = await service.purchase(
        buyerPrincipal(req),
        req.params.id,
        { buyerPublicKey: req.body.buyer_public_key, golemId: req.body.golem_id, paymentId },
        ctx(req),
      );
      return reply.code(201).send(presentPurchase(view));
    },
  );

  app.post<{ Params: ListingParams; Body: RatingBody }>(
    "/v1/styx/marketplace/listings/:id/ratings",
    {
      config: { golemCredential: "own", federatedBuyer: true },
      schema: {
        tags,
        summary: "Rate a listing you bought (once)",
        params: ListingParams,
        body: RatingBody,
        response: { 201: RatingAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const r = await service.rate(buyerPrincipal(req), req.params.id, req.body.rating, req.body.comment);
      return reply.code(201).send({ rating: r });
    },
  );

  app.get<{ Querystring: PurchasesQuery }>(
    "/v1/styx/marketplace/purchases",
    {
      config: { golemCredential: "own", federatedBuyer: true },
      schema: { tags, summary: "Your purchases, newest first", querystring: PurchasesQuery, response: { 200: PurchasesAnswer, ...errors } },
    },
    async (req) => ({ purchases: (await service.purchases(buyerPrincipal(req), req.query.limit ?? 100)).map(presentPurchase) }),
  );

  app.get<{ Params: PurchaseParams }>(
    "/v1/styx/marketplace/purchases/:id",
    {
      config: { golemCredential: "own", federatedBuyer: true },
      schema: { tags, summary: "One of your purchases", params: PurchaseParams, response: { 200: PurchaseAnswer, ...errors } },
    },
    async (req) => presentPurchase(await service.getPurchase(buyerPrincipal(req), req.params.id)),
  );

  app.get<{ Params: PurchaseParams }>(
    "/v1/styx/marketplace/purchases/:id/content",
    {
      config: { golemCredential: "own", federatedBuyer: true },
      schema: {
        tags,
        summary: "The ciphertext of a purchase (byte ranges; checked against its cid before any byte is sent)",
        params: PurchaseParams,
        response: {
          200: { description: "The ciphertext", type: "string", format: "binary" },
          206: { description: "A byte range", type: "string", format: "binary" },
          ...errors,
          416: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const { userId, cid } = await service.content(buyerPrincipal(req), req.params.id);
      const found = await blobs.stat(userId, cid);
      if (!found) throw new StyxError("STYX_NOT_FOUND", "The package is no longer stored.");
      const range = parseRange(req.headers.range, found.size);
      if (range === "unsatisfiable") {
        reply.header("content-range", `bytes */${found.size}`);
        throw new StyxError("STYX_RANGE_NOT_SATISFIABLE", undefined, { details: { size: found.size } });
      }
      const blob = await blobs.read(userId, cid, range);
      if (range) reply.code(206).header("content-range", `bytes ${blob.range.start}-${blob.range.end}/${found.size}`);
      reply
        .header("etag", `"${cid}"`)
        .header("accept-ranges", "bytes")
        .header("cache-control", "private, no-store")
        .header("x-content-type-options", "nosniff")
        .header("content-length", String(blob.range.end - blob.range.start + 1))
        .type("application/octet-stream");
      return reply.send(blob.body instanceof Readable ? blob.body : Readable.from(blob.body, { objectMode: false }));
    },
  );

  app.get(
    "/v1/styx/marketplace/payouts",
    {
      config: { golemCredential: "owner-only" },
      schema: {
        tags,
        summary: "Your money as a seller (pending, payable, due, paid), payouts and sales",
        response: { 200: SellerPayoutsAnswer, ...errors },
      },
    },
    async (req) => presentSellerLedger(await ledger.seller(userPrincipal(req), 100)),
  );

  app.get<{ Querystring: AdminPayoutsQuery }>(
    "/v1/admin/marketplace/payouts",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Payouts for the operator to pay",
        querystring: AdminPayoutsQuery,
        response: { 200: AdminPayoutsAnswer, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => ({
      payouts: (await ledger.payouts(req.query.status, req.query.limit ?? 100)).map((p) => ({
        ...presentPayout(p),
        seller_hash: service.sellerHash(p.sellerUserId),
      })),
    }),
  );

  app.post<{ Params: PayoutParams; Body: PaidBody }>(
    "/v1/admin/marketplace/payouts/:id/paid",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Record that a due payout was paid (once, audited)",
        params: PayoutParams,
        body: PaidBody,
        response: { 200: AdminPayout, ...errors },
      },
    },
    async (req) => {
      const p = await ledger.markPaid(req.params.id, req.body.transaction.toLowerCase(), ctx(req));
      return { ...presentPayout(p), seller_hash: service.sellerHash(p.sellerUserId) };
    },
  );

  app.delete<{ Params: ListingParams }>(
    "/v1/admin/marketplace/listings/:id",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Take a listing down (audited)",
        params: ListingParams,
        response: { 200: EndedListing, ...errors },
      },
    },
    async (req) => {
      const l = await service.takeDown(req.params.id, ctx(req));
      return { id: l.id, status: l.status };
    },
  );
}
