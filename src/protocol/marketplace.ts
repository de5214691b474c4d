import { type Static, Type } from "typebox";
import { Id, IsoTime, Nullable, WalletAddress } from "./common.js";
import { Domain, Embedding } from "./knowledge.js";

/** Wire schemas of the marketplace (SPEC §16). Amounts are decimal USD strings; no user, golem or buyer id is in any answer. */

const Kind = Type.Union([Type.Literal("entries"), Type.Literal("death_archive"), Type.Literal("strategy")]);
/** A decimal USD amount with at most 6 decimals ("0.01"). */
export const Usd = Type.String({ pattern: "^[0-9]{1,6}(\\.[0-9]{1,6})?$", description: "USD, decimal string (≤ 6 decimals)" });
const Cid = Type.String({ pattern: "^b3:[0-9a-f]{64}$", description: "Content address b3:<64 hex>" });
const B3 = Type.String({ pattern: "^[0-9a-f]{64}$", description: "BLAKE3-256 of the plaintext, 64 hex" });
const Base64url = (max: number) => Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: max });
const X25519 = Type.String({ pattern: "^[A-Za-z0-9_-]{43}$", description: "X25519 public key, 32 bytes base64url (no padding)" });
const ListingId = Type.String({ pattern: "^lst_[A-Za-z0-9_-]{1,64}$" });
const PurchaseId = Type.String({ pattern: "^pur_[A-Za-z0-9_-]{1,64}$" });
const PayoutId = Type.String({ pattern: "^pout_[A-Za-z0-9_-]{1,64}$" });

/** `GET /v1/styx/marketplace/escrow-key`. */
export const EscrowKeyAnswer = Type.Object({ kid: Type.String(), public_key: X25519 }, { additionalProperties: false });

/** `POST /v1/styx/marketplace/listings` (SPEC §16.1). */
export const CreateListingBody = (dim: number) =>
  Type.Object(
    {
      kind: Kind,
      title: Type.String({ minLength: 1, maxLength: 200 }),
      description: Type.String({ maxLength: 4000 }),
      preview: Type.String({ maxLength: 500 }),
      domain: Domain,
      price_usd: Usd,
      golem_id: Type.Optional(Id),
      entry_count: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      content_cid: Cid,
      content_size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      content_b3: B3,
      escrow_kid: Type.String({ pattern: "^[a-z0-9_-]{1,32}$" }),
      escrow_wrapped_cek: Base64url(512),
      embedding: Type.Optional(Embedding(dim)),
      ttl_seconds: Type.Optional(Type.Integer({ minimum: 3600, maximum: 3650 * 86_400 })),
      payout_address: Type.Optional(WalletAddress),
    },
    { additionalProperties: false },
  );
export type CreateListingBody = Static<ReturnType<typeof CreateListingBody>>;

/** The answer to a new listing. */
export const CreatedListing = Type.Object(
  { id: ListingId, status: Type.String(), expires_at: IsoTime, total_usd: Usd },
  { additionalProperties: false },
);

/** `GET /v1/styx/marketplace/listings` query (SPEC §16.2). */
export const BrowseQuery = Type.Object(
  {
    query: Type.Optional(Type.String({ maxLength: 500 })),
    domain: Type.Optional(Domain),
    kind: Type.Optional(Kind),
    max_price_usd: Type.Optional(Usd),
    min_rating: Type.Optional(Type.Number({ minimum: 1, maximum: 5 })),
    sort: Type.Optional(Type.Union([Type.Literal("rank"), Type.Literal("newest"), Type.Literal("price")])),
    cursor: Type.Optional(Type.String({ pattern: "^[0-9]{1,6}$" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type BrowseQuery = Static<typeof BrowseQuery>;

/** `POST /v1/styx/marketplace/listings/search`: the browse fields plus an embedding of the query. */
export const SearchBody = (dim: number) =>
  Type.Object({ ...BrowseQuery.properties, embedding: Type.Optional(Embedding(dim)) }, { additionalProperties: false });
export type SearchBody = Static<ReturnType<typeof SearchBody>>;

/**
 * The search body a downstream forwards to its upstream (SPEC §17.2 item 4): the embedding's
 * length is the upstream's dimension, checked there (1–4096 here, STYX_EMBED_DIM's range).
 */
export const UpstreamSearchBody = Type.Object(
  {
    ...BrowseQuery.properties,
    embedding: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: 4096, description: "the upstream's dimension" })),
  },
  { additionalProperties: false },
);
export type UpstreamSearchBody = Static<typeof UpstreamSearchBody>;

const Provenance = Type.Object(
  { bloodstain: IsoTime, generation: Type.Integer(), ticks_lived: Type.Integer() },
  { additionalProperties: false },
);

/** A listing as browse shows it: public fields only. */
export const PublicListing = Type.Object(
  {
    id: ListingId,
    kind: Kind,
    title: Type.String(),
    description: Type.String(),
    preview: Type.String(),
    domain: Type.String(),
    price_usd: Usd,
    total_usd: Usd,
    entry_count: Type.Integer(),
    content_size: Type.Integer(),
    provenance: Type.Optional(Provenance),
    seller: Type.Object({ hash: Type.String(), reputation: Type.Number(), sales: Type.Integer() }, { additionalProperties: false }),
    rating: Type.Object({ avg: Nullable(Type.Number()), count: Type.Integer() }, { additionalProperties: false }),
    purchases: Type.Integer(),
    score: Type.Number(),
    created_at: IsoTime,
    expires_at: IsoTime,
  },
  { additionalProperties: false },
);

/** Browse's answer. */
export const BrowseAnswer = Type.Object(
  { listings: Type.Array(PublicListing), next_cursor: Nullable(Type.String()) },
  { additionalProperties: false },
);

/** One listing with its last 20 ratings. */
export const ListingAnswer = Type.Object(
  {
    ...PublicListing.properties,
    ratings: Type.Array(
      Type.Object({ rating: Type.Integer(), comment: Nullable(Type.String()), created_at: IsoTime }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const ListingParams = Type.Object({ id: ListingId }, { additionalProperties: false });
export type ListingParams = Static<typeof ListingParams>;
export const PurchaseParams = Type.Object({ id: PurchaseId }, { additionalProperties: false });
export type PurchaseParams = Static<typeof PurchaseParams>;
export const PayoutParams = Type.Object({ id: PayoutId }, { additionalProperties: false });
export type PayoutParams = Static<typeof PayoutParams>;

/** A withdrawn or taken-down listing. */
export const EndedListing = Type.Object({ id: ListingId, status: Type.String() }, { additionalProperties: false });

/** `POST …/listings/:id/purchase`. */
export const PurchaseBody = Type.Object({ buyer_public_key: X25519, golem_id: Type.Optional(Id) }, { additionalProperties: false });
export type PurchaseBody = Static<typeof PurchaseBody>;

/** A purchase as its buyer sees it (and only its buyer). */
export const PurchaseAnswer = Type.Object(
  {
    purchase_id: PurchaseId,
    listing_id: ListingId,
    title: Type.String(),
    kind: Kind,
    wrapped_cek: Type.String(),
    content_cid: Cid,
    content_size: Type.Integer(),
    content_b3: B3,
    price_usd: Usd,
    fee_usd: Usd,
    payment_id: Type.String(),
    created_at: IsoTime,
  },
  { additionalProperties: false },
);

export const PurchasesQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
  { additionalProperties: false },
);
export type PurchasesQuery = Static<typeof PurchasesQuery>;
export const PurchasesAnswer = Type.Object({ purchases: Type.Array(PurchaseAnswer) }, { additionalProperties: false });

/** `POST …/listings/:id/ratings`. */
export const RatingBody = Type.Object(
  { rating: Type.Integer({ minimum: 1, maximum: 5 }), comment: Type.Optional(Type.String({ maxLength: 280 })) },
  { additionalProperties: false },
);
export type RatingBody = Static<typeof RatingBody>;
export const RatingAnswer = Type.Object(
  { rating: Type.Object({ avg: Type.Number(), count: Type.Integer() }, { additionalProperties: false }) },
  { additionalProperties: false },
);

const Payout = Type.Object(
  {
    id: PayoutId,
    address: WalletAddress,
    amount_usd: Usd,
    purchases: Type.Integer(),
    status: Type.Union([Type.Literal("due"), Type.Literal("paid")]),
    transaction: Nullable(Type.String()),
    created_at: IsoTime,
    paid_at: Nullable(IsoTime),
  },
  { additionalProperties: false },
);

/** The seller's ledger: money by state, payouts, sales (never a buyer). */
export const SellerPayoutsAnswer = Type.Object(
  {
    pending_usd: Usd,
    payable_usd: Usd,
    due_usd: Usd,
    paid_usd: Usd,
    payouts: Type.Array(Payout),
    sales: Type.Array(
      Type.Object(
        { listing_id: ListingId, purchase_id: PurchaseId, price_usd: Usd, state: Type.String(), created_at: IsoTime },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The operator's payout list. */
export const AdminPayoutsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal("due"), Type.Literal("paid")])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type AdminPayoutsQuery = Static<typeof AdminPayoutsQuery>;
export const AdminPayout = Type.Object({ ...Payout.properties, seller_hash: Type.String() }, { additionalProperties: false });
export const AdminPayoutsAnswer = Type.Object({ payouts: Type.Array(AdminPayout) }, { additionalProperties: false });
export const PaidBody = Type.Object({ transaction: Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" }) }, { additionalProperties: false });
export type PaidBody = Static<typeof PaidBody>;
