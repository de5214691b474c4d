import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { topupAmount } from "../../core/payments/credit.js";
import type { PaymentPurpose } from "../../core/payments/ledger.js";
import type { ChargedOperation } from "../../core/payments/money.js";
import { malformed, readPayment } from "../../core/payments/payload.js";
import type { AdmittedPayment, PaymentGate } from "../../core/payments/payment-gate.js";
import { ERROR_TABLE, StyxError } from "../../core/platform/errors.js";
import type { Metrics } from "../metrics.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The payment reserved for this request (pricing on, a priced route, paid): accepted or voided by its answer. */
    payment: AdmittedPayment | null;
  }
}

/** A priced route: its operation, and how many units a request buys (a batch write: one per entry). */
export interface PricedRoute {
  readonly operation: ChargedOperation;
  readonly units?: (req: FastifyRequest) => number;
  /** What the payment is for in the ledger (default `request`). */
  readonly purpose?: PaymentPurpose;
  /**
   * A price set per request, atomic units (a marketplace purchase: price + fee). It runs before
   * any 402 and may throw the refusals that must come first (SPEC §16.2: 409/410 before the 402).
   */
  readonly amount?: (req: FastifyRequest) => Promise<number>;
}

/**
 * SPEC §11.1's priced routes by `METHOD url` (HEAD costs what GET does: it runs the handler).
 * Everything else is free. A batch write costs one `entry_write` per entry (otherwise it would be
 * a free way around the priced single write).
 */
export const PRICED_ROUTES: ReadonlyMap<string, PricedRoute & { readonly operation: Exclude<ChargedOperation, "purchase"> }> = new Map<
  string,
  PricedRoute & { readonly operation: Exclude<ChargedOperation, "purchase"> }
>([
  ["POST /v1/styx/entries", { operation: "entry_write" }],
  ["POST /v1/styx/entries/batch", { operation: "entry_write", units: (req) => (req.body as { entries: unknown[] }).entries.length }],
  ["POST /v1/styx/query", { operation: "query" }],
  ["GET /v1/styx/query", { operation: "query" }],
  ["POST /v1/styx/pheromone/deposit", { operation: "pheromone_deposit" }],
  ["GET /v1/styx/pheromone/sense", { operation: "pheromone_sense" }],
  ["POST /v1/styx/bloodstain", { operation: "bloodstain" }],
  ["GET /v1/styx/snapshot/:golem_id", { operation: "snapshot" }],
  ["GET /v1/styx/causal/discover", { operation: "causal_discover" }],
  // SPEC §11.4: a top-up costs what it buys (one atomic unit per unit; 0.001–100 USD, else 400 before any 402).
  [
    "POST /v1/styx/credit/topup",
    { operation: "credit_topup", purpose: "topup", units: (req) => topupAmount((req.body as { amount_usd: string }).amount_usd) },
  ],
]);

/** Largest payment header read (SPEC §11.2); past it → 400 STYX_PAYMENT_MALFORMED. */
const MAX_HEADER = 8 * 1024;

/** What the payments adapter needs: the core's gate, and the public origin resources are named under. */
export interface PaymentsOptions {
  readonly gate: PaymentGate;
  /** STYX_PUBLIC_URL: offers name `${publicUrl}${path}`. */
  readonly publicUrl: string;
  readonly metrics: Metrics;
  /** Routes priced by other features (the marketplace's purchase), by `METHOD url`, beside PRICED_ROUTES. */
  readonly routes?: ReadonlyMap<string, PricedRoute> | undefined;
}

/**
 * x402 on Fastify (SPEC §11.2) — ours, since no @x402/fastify is published; the wire encoding
 * is @x402/core's. A preHandler registered after authentication, validation, tenancy and the
 * heavy queue (app.ts), so a 402 only ever means "served once paid": every refusal that does not
 * depend on payment comes first. Unpaid → 402 with `PAYMENT-REQUIRED`; paid → the gate's checks,
 * the authorization reserved in the ledger, and the handler runs; the answer then accepts the
 * payment (status < 400: `PAYMENT-RESPONSE`, v1 `X-PAYMENT-RESPONSE`) or voids it (status ≥ 400,
 * or an idempotent replay). Registered only with pricing on: otherwise no header is ever read.
 */
export async function registerPayments(app: FastifyInstance, opts: PaymentsOptions): Promise<void> {
  const x402 = await import("@x402/core/http");
  const { gate, metrics } = opts;
  const routes = new Map<string, PricedRoute>([...PRICED_ROUTES, ...(opts.routes ?? [])]);
  const routeOf = (req: FastifyRequest) => routes.get(`${req.method === "HEAD" ? "GET" : req.method} ${req.routeOptions.url}`);
  app.decorateRequest("payment", null);

  const refuse = (
    req: FastifyRequest,
    reply: FastifyReply,
    route: PricedRoute,
    units: number,
    reason: string | undefined,
    amount?: number,
  ) => {
    const code = reason === undefined ? "STYX_PAYMENT_REQUIRED" : "STYX_PAYMENT_INVALID";
    const url = `${opts.publicUrl}${req.url}`;
    const offer = gate.offer(route.operation, url, units, reason ?? "payment required", amount);
    const details = { ...(reason === undefined ? {} : { reason }), ...gate.details(route.operation, units, amount) };
    metrics.payments.inc({ operation: route.operation, outcome: reason === undefined ? "required" : "invalid" });
    return reply
      .code(402)
      .header("cache-control", "no-store")
      .header("payment-required", x402.encodePaymentRequiredHeader(offer.v2))
      .type("application/json; charset=utf-8")
      .send({
        error: { code, message: ERROR_TABLE[code].message, request_id: req.id, details },
        // x402 v1 clients read the offer from the body (SPEC §19.3): the one error body with more than `error`.
        x402Version: 1,
        accepts: offer.v1.accepts,
      });
  };

  app.addHook("preHandler", async (req, reply) => {
    const route = routeOf(req);
    const p = req.principal;
    if (!route || p?.kind !== "user") return;
    const units = route.units?.(req) ?? 1;
    const amount = await route.amount?.(req);
    // Step 4 before any 402 (SPEC §11.4): a payment the key may not make is not asked for (after
    // the route's own refusals, which come first too: SPEC §16.2).
    try {
      await gate.checkSpendLimit(p.via === "api_key" ? p.credentialId : null, route.operation, units, amount);
    } catch (err) {
      if (err instanceof StyxError && err.code === "STYX_SPEND_LIMIT")
        metrics.payments.inc({ operation: route.operation, outcome: "spend_limit" });
      throw err;
    }
    const v2 = req.headers["payment-signature"];
    const v1 = req.headers["x-payment"];
    if (v2 === undefined && v1 === undefined) return refuse(req, reply, route, units, undefined, amount);
    try {
      if (v2 !== undefined && v1 !== undefined) throw malformed("/", "came twice: send PAYMENT-SIGNATURE or X-PAYMENT, not both");
      const header = v2 ?? v1;
      if (typeof header !== "string") throw malformed("/", "came twice");
      if (header.length > MAX_HEADER) throw malformed("/", `is larger than ${MAX_HEADER} bytes`);
      let decoded: unknown;
      try {
        decoded = x402.decodePaymentSignatureHeader(header.trim());
      } catch {
        throw malformed("/", "is not base64 of JSON");
      }
      const attempt = readPayment(v2 !== undefined ? 2 : 1, decoded);
      const admission = await gate.admit(
        {
          operation: route.operation,
          units,
          purpose: route.purpose ?? "request",
          amount,
          url: `${opts.publicUrl}${req.url}`,
          userId: p.userId,
          keyId: p.credentialId,
          golemId: p.golemId,
        },
        attempt,
      );
      if (admission.kind === "invalid") return refuse(req, reply, route, units, admission.reason, amount);
      req.payment = admission.payment;
    } catch (err) {
      if (err instanceof StyxError && (err.code === "STYX_PAYMENT_MALFORMED" || err.code === "STYX_PAYMENT_REPLAYED"))
        metrics.payments.inc({ operation: route.operation, outcome: err.code === "STYX_PAYMENT_MALFORMED" ? "malformed" : "replayed" });
      throw err;
    }
  });

  app.addHook("onSend", async (req, reply, payload) => {
    const payment = req.payment;
    if (!payment) return payload;
    // Once: an error while sending runs onSend again for the error answer.
    req.payment = null;
    const ok = reply.statusCode < 400 && reply.getHeader("idempotency-replayed") === undefined;
    const receipt = await gate.finish(payment, ok);
    const operation = routeOf(req)?.operation ?? "unknown";
    metrics.payments.inc({ operation, outcome: ok ? "accepted" : "voided" });
    if (receipt) reply.header(payment.version === 2 ? "payment-response" : "x-payment-response", x402.encodePaymentResponseHeader(receipt));
    return payload;
  });
}
