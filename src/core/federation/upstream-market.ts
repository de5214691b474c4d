/**
 * The marketplace flow of a downstream (SPEC §17.2 item 4): the buyer routes of
 * `/v1/styx/marketplace/*` served by the upstream's marketplace. The downstream authenticates
 * its own user as usual, then forwards with the upstream key, the user as `X-Styx-Buyer` (a keyed
 * hash: `buyerReference`), the x402 headers both ways, and no local id: the golem pays the
 * upstream's offer, so nothing is charged here. What travels is decided here; the HTTP client is
 * an adapter (adapters/http/upstream-market.ts). Pure.
 */
import { StyxError } from "../platform/errors.js";

/** Request headers a buyer's client sends that reach the upstream: x402's payment (v2, v1) and byte ranges of a download. */
export const FORWARDED_REQUEST_HEADERS = ["payment-signature", "x-payment", "range", "if-range"] as const;

/**
 * Response headers of the upstream that reach the buyer: x402's offer and receipts (v2, v1), and
 * what describes a body (type, length, range, entity tag, caching, retry).
 */
export const RETURNED_RESPONSE_HEADERS = [
  "payment-required",
  "payment-response",
  "x-payment-response",
  "content-type",
  "content-length",
  "content-range",
  "accept-ranges",
  "etag",
  "cache-control",
  "x-content-type-options",
  "retry-after",
] as const;

/** Fields that name a local id and never leave for the upstream (a golem bought for is the downstream's business). */
export const LOCAL_ID_FIELDS: ReadonlySet<string> = new Set(["golem_id"]);

/** How long the upstream may take to start answering (and, while streaming, between two chunks). */
export const UPSTREAM_TIMEOUT_MS = 15_000;

/** One request for the upstream's marketplace. */
export interface UpstreamRequest {
  readonly method: "GET" | "POST";
  /** The path under the upstream's origin, with its query string (`/v1/styx/marketplace/listings?domain=defi`). */
  readonly path: string;
  /** A JSON body (POST), local ids already removed. */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
  /** The buyer of a buyer route (`X-Styx-Buyer`); undefined on the public routes (browse, a listing, the escrow key). */
  readonly buyerRef?: string | undefined;
  /** The client's forwardable headers (`forwardedHeaders`). */
  readonly headers: ReadonlyMap<string, string>;
}

/** The upstream's answer, its body streamed (a download is never held whole). */
export interface UpstreamResponse {
  readonly status: number;
  /** Only `RETURNED_RESPONSE_HEADERS`. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * The upstream's marketplace, as the downstream reaches it. `forward` resolves once the
 * upstream's status and headers arrived; an upstream that does not answer (refused connection,
 * timeout, a broken answer) throws `upstreamUnavailable`.
 */
export interface UpstreamMarket {
  forward(req: UpstreamRequest): Promise<UpstreamResponse>;
}

/** The client's headers that travel to the upstream (`FORWARDED_REQUEST_HEADERS`), one value each. */
export function forwardedHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = headers[name];
    if (typeof v === "string") out.set(name, v);
  }
  return out;
}

/** A validated body or query without the fields that name local ids (SPEC §17.2 item 4: the upstream never learns them). */
export function withoutLocalIds(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(fields)) if (!LOCAL_ID_FIELDS.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** A validated query as the upstream's query string (`?…`, or empty), local ids removed. */
export function upstreamQuery(query: Readonly<Record<string, unknown>> | undefined): string {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(withoutLocalIds(query ?? {})))
    pairs.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return pairs.length === 0 ? "" : `?${pairs.join("&")}`;
}

/** The refusal of an upstream that gave no usable answer; `reason` is for the operator (no secret in it). */
export function upstreamUnavailable(reason: string, cause?: unknown): StyxError {
  return new StyxError("STYX_UPSTREAM_UNAVAILABLE", undefined, { details: { reason }, retryAfterSeconds: 5, cause });
}

/**
 * Whether an upstream answer is passed to the buyer as it is: every success and every JSON
 * error but a 401 (the upstream refusing this Styx's own key is the operator's problem, not the
 * buyer's credential); anything else is `upstreamUnavailable`.
 */
export function passesThrough(status: number, contentType: string | undefined): boolean {
  if (status < 400) return true;
  if (status === 401) return false;
  return (contentType ?? "").toLowerCase().startsWith("application/json");
}
