import type { CloseCode } from "./close-codes.js";

/**
 * The one error table of Styx. Every error a client can see has a stable `STYX_*` code,
 * an HTTP status, a WebSocket close code (a row of `CLOSE_CODES`, which says whether a client
 * reconnects after it) and a retryable flag. `docs/errors.md` documents each code with "how to
 * solve"; a unit test keeps the two in step. `scripts/gen-client.mts` generates the client's
 * `retryable` rule from this table. Retired codes are never reused: mark them `retired: true`
 * instead of deleting them.
 */
export const ERROR_TABLE = {
  STYX_VALIDATION: { status: 400, ws: 4400, retryable: false, message: "The request failed validation." },
  STYX_BAD_JSON: { status: 400, ws: 4400, retryable: false, message: "The body is not valid JSON." },
  STYX_BAD_REQUEST: { status: 400, ws: 4400, retryable: false, message: "The request is malformed." },
  STYX_NOT_PUBLISHABLE: {
    status: 400,
    ws: 4400,
    retryable: false,
    message: "A public field is not publishable: it must be a lowercase token (a-z, 0-9, _ . -; at most 64) that holds no identifier.",
  },
  STYX_AUTH_REQUIRED: { status: 401, ws: 4401, retryable: false, message: "Authentication is required." },
  STYX_AUTH_INVALID_KEY: { status: 401, ws: 4401, retryable: false, message: "The credential is unknown, revoked or expired." },
  STYX_AUTH_INVALID_SIGNATURE: { status: 401, ws: 4401, retryable: false, message: "The signature does not match the wallet." },
  STYX_AUTH_INVALID_CHALLENGE: { status: 401, ws: 4401, retryable: false, message: "The challenge is unknown, expired or already used." },
  STYX_AUTH_SIWE_REQUIRED: {
    status: 400,
    ws: 4400,
    retryable: false,
    message:
      "Wallet sign-in takes the signed EIP-4361 (Sign-In with Ethereum) message: send { message, signature } with the message of POST /v1/auth/challenge.",
  },
  STYX_AUTH_UNKNOWN_WALLET: { status: 401, ws: 4401, retryable: false, message: "No user or golem is registered with this wallet." },
  STYX_AUTH_FORBIDDEN: { status: 403, ws: 4403, retryable: false, message: "The credential does not allow this action." },
  STYX_NOT_FOUND: { status: 404, ws: 4404, retryable: false, message: "Not found." },
  STYX_ROUTE_NOT_FOUND: { status: 404, ws: 4404, retryable: false, message: "No such route." },
  STYX_CONFLICT: { status: 409, ws: 4409, retryable: false, message: "The resource already exists." },
  STYX_GOLEM_DEAD: { status: 409, ws: 4409, retryable: false, message: "The golem is dead: it left its bloodstain and acts no more." },
  STYX_URI_TOO_LONG: { status: 414, ws: 4414, retryable: false, message: "A path segment is longer than any valid identifier." },
  STYX_HEADERS_TOO_LARGE: {
    status: 431,
    ws: 4431,
    retryable: false,
    message: "The request line and headers are larger than the server reads.",
  },
  STYX_REQUEST_TIMEOUT: { status: 408, ws: 4408, retryable: true, message: "The request did not arrive in time." },
  STYX_PAYLOAD_TOO_LARGE: { status: 413, ws: 1009, retryable: false, message: "The body is larger than the limit." },
  STYX_DECOMPRESSION_LIMIT: {
    status: 413,
    ws: 1009,
    retryable: false,
    message: "The compressed body expands beyond the allowed ratio or size.",
  },
  STYX_UNSUPPORTED_MEDIA_TYPE: { status: 415, ws: 4415, retryable: false, message: "The content type is not supported." },
  STYX_UNSUPPORTED_ENCODING: { status: 415, ws: 4415, retryable: false, message: "The content encoding is not supported." },
  STYX_HISTORY_GONE: {
    status: 410,
    ws: 4410,
    retryable: true,
    message: "The history being replayed was archived away or expired meanwhile; resume again.",
  },
  STYX_RANGE_NOT_SATISFIABLE: { status: 416, ws: 4416, retryable: false, message: "The requested byte range lies outside the blob." },
  STYX_PAYMENT_REQUIRED: {
    status: 402,
    ws: 4402,
    retryable: false,
    message: "This operation is paid: pay the offer of the PAYMENT-REQUIRED header (x402) and send the request again.",
  },
  STYX_PAYMENT_MALFORMED: {
    status: 400,
    ws: 4400,
    retryable: false,
    message:
      "The payment header is not base64 JSON of an x402 payment, is larger than 8 KiB, or both PAYMENT-SIGNATURE and X-PAYMENT were sent.",
  },
  STYX_PAYMENT_INVALID: {
    status: 402,
    ws: 4402,
    retryable: false,
    message: "The payment does not pay this offer; details.reason says why.",
  },
  STYX_PAYMENT_REPLAYED: { status: 409, ws: 4409, retryable: false, message: "This payment authorization was already used." },
  STYX_SPEND_LIMIT: {
    status: 403,
    ws: 4403,
    retryable: false,
    message: "This payment would pass the key's daily or monthly spend limit; details say which, and when it resets.",
  },
  STYX_CREDIT_EXHAUSTED: {
    status: 402,
    ws: 4402,
    retryable: false,
    message: "No relay credit left: the event was not relayed. Top up with POST /v1/styx/credit/topup.",
  },
  STYX_PRICING_DISABLED: {
    status: 404,
    ws: 4404,
    retryable: false,
    message: "Pricing is off on this Styx (STYX_PRICING=0): it charges nothing and keeps no relay credit.",
  },
  STYX_MARKETPLACE_DISABLED: {
    status: 404,
    ws: 4404,
    retryable: false,
    message: "The marketplace is off on this Styx (STYX_MARKETPLACE=0, or pricing is off).",
  },
  STYX_FEDERATION_LOOP: {
    status: 409,
    ws: 4409,
    retryable: false,
    message: "The link would loop: the other Styx has this Styx's instance id (linked to itself, or a copy of it).",
  },
  STYX_FEDERATION_NOT_LINKED: {
    status: 409,
    ws: 4409,
    retryable: false,
    message: "This federate key has no link yet: send POST /v1/styx/federation/hello first.",
  },
  STYX_FEDERATION_ORIGIN: {
    status: 400,
    ws: 4400,
    retryable: false,
    message: "A pushed record must be of the pushing Styx's own origin (records of other instances never travel up).",
  },
  STYX_FEDERATION_STALE: {
    status: 400,
    ws: 4400,
    retryable: false,
    message: "The record is too old to apply: a deposit that has faded, or a time ahead of now or past the federation window.",
  },
  STYX_LISTING_UPSTREAM_ONLY: {
    status: 403,
    ws: 4403,
    retryable: false,
    message: "This Styx serves its upstream's marketplace to buyers: list, withdraw and read your sales directly on the upstream Styx.",
  },
  STYX_FEDERATION_NOT_AGREED: {
    status: 403,
    ws: 4403,
    retryable: false,
    message: "The link did not agree to this: the record's kind or domain is outside the flows and domains of its hello.",
  },
  STYX_ESCROW_INVALID: {
    status: 400,
    ws: 4400,
    retryable: false,
    message: "escrow_wrapped_cek does not open to a 32-byte content key under escrow_kid for content_cid.",
  },
  STYX_PAYOUT_ADDRESS_REQUIRED: {
    status: 400,
    ws: 4400,
    retryable: false,
    message: "A listing needs a payout address: send payout_address or register a wallet for the user.",
  },
  STYX_GOLEM_NOT_DEAD: {
    status: 409,
    ws: 4409,
    retryable: false,
    message: "A death archive can be listed only after the golem's bloodstain.",
  },
  STYX_LISTING_LIMIT: { status: 409, ws: 4409, retryable: false, message: "The user already has the most active listings allowed (100)." },
  STYX_OWN_LISTING: { status: 409, ws: 4409, retryable: false, message: "A seller cannot buy their own listing." },
  STYX_ALREADY_PURCHASED: {
    status: 409,
    ws: 4409,
    retryable: false,
    message: "This listing was already bought by this user; details.purchase_id names the purchase. Nothing was charged.",
  },
  STYX_LISTING_GONE: { status: 410, ws: 4404, retryable: false, message: "The listing was withdrawn, taken down or has expired." },
  STYX_NOT_A_BUYER: {
    status: 403,
    ws: 4403,
    retryable: false,
    message: "Only a buyer of this listing (an unrevoked purchase) may rate it.",
  },
  STYX_ALREADY_RATED: { status: 409, ws: 4409, retryable: false, message: "This buyer already rated this listing." },
  STYX_RATE_LIMITED: { status: 429, ws: 4429, retryable: true, message: "Too many requests." },
  STYX_QUOTA_EXCEEDED: { status: 429, ws: 4429, retryable: true, message: "A quota of this user is used up." },
  STYX_SLOW_CONSUMER: {
    status: 503,
    ws: 4008,
    retryable: true,
    message: "The socket fell too far behind its events and was closed; reconnect and resume.",
  },
  STYX_PING_TIMEOUT: { status: 408, ws: 4009, retryable: true, message: "Three pings went unanswered; the socket was closed." },
  STYX_INTERNAL: { status: 500, ws: 1011, retryable: true, message: "Internal error." },
  STYX_BLOB_CORRUPT: { status: 500, ws: 1011, retryable: false, message: "The stored blob failed its integrity check and was not served." },
  STYX_EMBEDDER_FAILED: { status: 502, ws: 1011, retryable: true, message: "The embedding service failed or gave an unusable answer." },
  STYX_OVERLOADED: { status: 503, ws: 1013, retryable: true, message: "The server is shedding load; retry later." },
  STYX_DEPENDENCY_UNAVAILABLE: {
    status: 503,
    ws: 1013,
    retryable: true,
    message: "A service this request needs is unavailable; retry shortly.",
  },
  STYX_FACILITATOR_UNAVAILABLE: {
    status: 503,
    ws: 1013,
    retryable: true,
    message: "The payment needed the x402 facilitator, which did not answer; retry shortly.",
  },
  STYX_UPSTREAM_UNAVAILABLE: {
    status: 503,
    ws: 1013,
    retryable: true,
    message: "The upstream Styx, whose marketplace this Styx serves, did not answer; retry shortly.",
  },
  STYX_SHUTTING_DOWN: { status: 503, ws: 1012, retryable: true, message: "The server is shutting down; retry on another instance." },
} as const satisfies Record<string, ErrorSpec>;

/** One row of the error table. */
export interface ErrorSpec {
  /** HTTP status answered with this code. */
  readonly status: number;
  /** WebSocket close code used when this error ends a socket; `CLOSE_CODES` says whether a client reconnects. */
  readonly ws: CloseCode;
  /** Whether the same request may succeed later unchanged. */
  readonly retryable: boolean;
  /** Default human message. */
  readonly message: string;
}

/** A Styx error code. */
export type ErrorCode = keyof typeof ERROR_TABLE;

/** The error every layer throws; the server turns it into `{ error: { code, message, details } }`. */
export class StyxError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  /** Seconds until a retry may succeed (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message?: string, options: { details?: unknown; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message ?? ERROR_TABLE[code].message, { cause: options.cause });
    this.name = "StyxError";
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Shorthand for the 404 that hides whether a resource exists at all. */
export function notFound(what = "Not found."): StyxError {
  return new StyxError("STYX_NOT_FOUND", what);
}
