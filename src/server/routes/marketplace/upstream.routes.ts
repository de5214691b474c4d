import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  forwardedHeaders,
  type UpstreamMarket,
  type UpstreamResponse,
  upstreamQuery,
  withoutLocalIds,
} from "../../../core/federation/upstream-market.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import {
  BrowseAnswer,
  BrowseQuery,
  EscrowKeyAnswer,
  ListingAnswer,
  ListingParams,
  PurchaseAnswer,
  PurchaseBody,
  PurchaseParams,
  PurchasesAnswer,
  PurchasesQuery,
  RatingAnswer,
  RatingBody,
  UpstreamSearchBody,
} from "../../../protocol/marketplace.js";
import { userPrincipal } from "../../context.js";

/** What the upstream's marketplace routes need: the upstream, and the buyer reference of a local user (`buyerReference`). */
export interface UpstreamMarketRouteDeps {
  readonly upstream: UpstreamMarket;
  readonly buyerRef: (userId: string) => string;
}

const tags = ["marketplace"];
const errors = {
  400: ErrorBody,
  401: ErrorBody,
  402: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  503: ErrorBody,
};
const through = " Served by the upstream Styx (federation, SPEC §17.2 item 4).";

/** The upstream's answer as this route's: status, returned headers, the body streamed as it comes. */
function relay(reply: FastifyReply, res: UpstreamResponse): FastifyReply {
  reply.code(res.status);
  for (const [k, v] of res.headers) reply.header(k, v);
  return reply.send(Readable.from(res.body, { objectMode: false }));
}

/**
 * A downstream's marketplace (SPEC §17.2 item 4, with `STYX_FEDERATE` naming `marketplace`): every
 * route a buyer uses is the upstream's, forwarded after this Styx authenticated its own caller as
 * usual (a golem credential buys only for its golem) — with the upstream key, the caller's user as
 * `X-Styx-Buyer`, x402's headers both ways (the golem pays the upstream's offer: nothing is
 * charged here), `golem_id` removed. Listing, withdrawing and the seller's payouts are not
 * proxied: 403 STYX_LISTING_UPSTREAM_ONLY (sellers list directly on the upstream).
 */
export function upstreamMarketRoutes(app: FastifyInstance, deps: UpstreamMarketRouteDeps): void {
  const { upstream } = deps;
  const pub = (req: FastifyRequest, method: "GET" | "POST", path: string, body?: Record<string, unknown>) =>
    upstream.forward({ method, path, body, headers: forwardedHeaders(req.headers) });
  const buyer = (req: FastifyRequest, method: "GET" | "POST", path: string, body?: Record<string, unknown>) =>
    upstream.forward({ method, path, body, headers: forwardedHeaders(req.headers), buyerRef: deps.buyerRef(userPrincipal(req).userId) });
  const listingPath = (id: string) => `/v1/styx/marketplace/listings/${encodeURIComponent(id)}`;
  const purchasePath = (id: string) => `/v1/styx/marketplace/purchases/${encodeURIComponent(id)}`;

  app.get(
    "/v1/styx/marketplace/escrow-key",
    {
      config: { auth: "public" },
      schema: { tags, summary: `The upstream's escrow key.${through}`, response: { 200: EscrowKeyAnswer, 429: ErrorBody, 503: ErrorBody } },
    },
    async (req, reply) => relay(reply, await pub(req, "GET", "/v1/styx/marketplace/escrow-key")),
  );

  app.get<{ Querystring: BrowseQuery }>(
    "/v1/styx/marketplace/listings",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: `Browse the upstream's active listings (free, no credential).${through}`,
        querystring: BrowseQuery,
        response: { 200: BrowseAnswer, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => relay(reply, await pub(req, "GET", `/v1/styx/marketplace/listings${upstreamQuery(req.query)}`)),
  );

  app.post<{ Body: UpstreamSearchBody }>(
    "/v1/styx/marketplace/listings/search",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: `Browse the upstream's listings with an embedding of the query (the upstream's dimension).${through}`,
        body: UpstreamSearchBody,
        response: { 200: BrowseAnswer, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => relay(reply, await pub(req, "POST", "/v1/styx/marketplace/listings/search", withoutLocalIds(req.body))),
  );

  app.get<{ Params: ListingParams }>(
    "/v1/styx/marketplace/listings/:id",
    {
      config: { auth: "public" },
      schema: {
        tags,
        summary: `One of the upstream's active listings with its last 20 ratings.${through}`,
        params: ListingParams,
        response: { 200: ListingAnswer, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => relay(reply, await pub(req, "GET", listingPath(req.params.id))),
  );

  app.post<{ Params: ListingParams; Body: PurchaseBody }>(
    "/v1/styx/marketplace/listings/:id/purchase",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem" }] },
      schema: {
        tags,
        summary: `Buy an upstream listing: x402 to the upstream's payTo at price + ⌈5 %⌉.${through}`,
        description:
          "The 402 and its PAYMENT-REQUIRED are the upstream's; pay them and send the same request again with PAYMENT-SIGNATURE. `golem_id` (your golem, checked here) never reaches the upstream.",
        params: ListingParams,
        body: PurchaseBody,
        response: { 201: PurchaseAnswer, ...errors },
      },
    },
    async (req, reply) => relay(reply, await buyer(req, "POST", `${listingPath(req.params.id)}/purchase`, withoutLocalIds(req.body))),
  );

  app.post<{ Params: ListingParams; Body: RatingBody }>(
    "/v1/styx/marketplace/listings/:id/ratings",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: `Rate an upstream listing you bought (once).${through}`,
        params: ListingParams,
        body: RatingBody,
        response: { 201: RatingAnswer, ...errors },
      },
    },
    async (req, reply) => relay(reply, await buyer(req, "POST", `${listingPath(req.params.id)}/ratings`, withoutLocalIds(req.body))),
  );

  app.get<{ Querystring: PurchasesQuery }>(
    "/v1/styx/marketplace/purchases",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: `Your purchases on the upstream, newest first.${through}`,
        querystring: PurchasesQuery,
        response: { 200: PurchasesAnswer, ...errors },
      },
    },
    async (req, reply) => relay(reply, await buyer(req, "GET", `/v1/styx/marketplace/purchases${upstreamQuery(req.query)}`)),
  );

  app.get<{ Params: PurchaseParams }>(
    "/v1/styx/marketplace/purchases/:id",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: `One of your purchases on the upstream.${through}`,
        params: PurchaseParams,
        response: { 200: PurchaseAnswer, ...errors },
      },
    },
    async (req, reply) => relay(reply, await buyer(req, "GET", purchasePath(req.params.id))),
  );

  app.get<{ Params: PurchaseParams }>(
    "/v1/styx/marketplace/purchases/:id/content",
    {
      config: { golemCredential: "own" },
      schema: {
        tags,
        summary: `The ciphertext of an upstream purchase, streamed (byte ranges).${through}`,
        params: PurchaseParams,
        response: {
          200: { description: "The ciphertext", type: "string", format: "binary" },
          206: { description: "A byte range", type: "string", format: "binary" },
          ...errors,
          416: ErrorBody,
        },
      },
    },
    async (req, reply) => relay(reply, await buyer(req, "GET", `${purchasePath(req.params.id)}/content`)),
  );

  const upstreamOnly = async () => {
    throw new StyxError("STYX_LISTING_UPSTREAM_ONLY");
  };
  const sellerRoute = (summary: string) => ({
    config: { auth: "public" as const },
    schema: {
      tags,
      summary: `${summary}: not here — list directly on the upstream (403 STYX_LISTING_UPSTREAM_ONLY)`,
      response: { 403: ErrorBody },
    },
  });
  app.post("/v1/styx/marketplace/listings", sellerRoute("List a package"), upstreamOnly);
  app.delete("/v1/styx/marketplace/listings/:id", sellerRoute("Withdraw a listing"), upstreamOnly);
  app.get("/v1/styx/marketplace/payouts", sellerRoute("A seller's payouts"), upstreamOnly);
}
