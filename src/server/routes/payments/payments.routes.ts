import type { FastifyInstance } from "fastify";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import type { CreditAccounts, SpendLimit, SpendLimitStore } from "../../../core/payments/credit.js";
import { PAYMENT_STATUSES, type PaymentLedger, type PaymentRecord } from "../../../core/payments/ledger.js";
import { atomicToUsd, usdToAtomic } from "../../../core/payments/money.js";
import type { Clock } from "../../../core/platform/clock.js";
import { iso } from "../../../core/platform/clock.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody, KeyIdParams } from "../../../protocol/common.js";
import {
  AdminPaymentsQuery,
  CreditBalance,
  KeySpendLimit,
  PatchKeyBody,
  PaymentIdParams,
  PaymentRequiredBody,
  PaymentSummary,
  PaymentSummaryQuery,
  PaymentsQuery,
  Receipt,
  ReceiptPage,
  type SpendLimitBody,
  TopupAnswer,
  TopupBody,
} from "../../../protocol/payments.js";
import { userPrincipal } from "../../context.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const PAGE = 50;
const DAY = 86_400_000;

/** What the payment routes read: the ledger and credit when kept (none under amnesia), pricing's credit when on. */
export interface PaymentRouteDeps {
  readonly ledger: PaymentLedger | undefined;
  readonly limits: SpendLimitStore | undefined;
  /** Relay credit; undefined while pricing is off (nothing is charged, a top-up is refused). */
  readonly credit: CreditAccounts | undefined;
  readonly identity: Pick<IdentityStore, "getApiKey">;
  readonly clock: Clock;
}

/**
 * Receipts, credit and spend limits (SPEC §11.3–11.4), all free: the owner's receipts (a golem
 * credential sees its golem's), the admin's list of anyone's and a summary in USD by status and
 * operation; relay credit, read and topped up (the top-up is priced by the payments plugin: it
 * costs what it buys); and the admin's spend limits of a key.
 */
export function paymentRoutes(app: FastifyInstance, deps: PaymentRouteDeps): void {
  const { ledger, clock } = deps;

  const page = async (filter: Parameters<PaymentLedger["list"]>[0]) => {
    if (!ledger) return { payments: [], next_cursor: null };
    const rows = await ledger.list({ ...filter, limit: filter.limit + 1 });
    const more = rows.length > filter.limit;
    const shown = rows.slice(0, filter.limit);
    const last = shown.at(-1);
    return { payments: shown.map(presentReceipt), next_cursor: more && last ? `${last.createdAt}.${last.id}` : null };
  };

  app.get<{ Querystring: PaymentsQuery }>(
    "/v1/styx/payments",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["payments"],
        summary: "The caller's payment receipts, oldest first (a golem credential: its golem's)",
        querystring: PaymentsQuery,
        response: { 200: ReceiptPage, ...errors },
      },
    },
    async (req) => {
      const p = userPrincipal(req);
      return page({ userId: p.userId, golemId: p.golemId ?? undefined, ...filters(req.query) });
    },
  );

  app.get<{ Params: { payment_id: string } }>(
    "/v1/styx/payments/:payment_id",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["payments"],
        summary: "One of the caller's receipts",
        params: PaymentIdParams,
        response: { 200: Receipt, ...errors },
      },
    },
    async (req) => {
      const p = userPrincipal(req);
      const row = ledger ? await ledger.get(req.params.payment_id) : undefined;
      // Another user's payment, or a sibling golem's, is as absent as one that never was.
      if (!row || row.userId !== p.userId || (p.golemId !== null && row.golemId !== p.golemId))
        throw new StyxError("STYX_NOT_FOUND", "No such payment.");
      return presentReceipt(row);
    },
  );

  app.get<{ Querystring: AdminPaymentsQuery }>(
    "/v1/admin/payments",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Payment receipts of every user, or of one (user_id), oldest first",
        querystring: AdminPaymentsQuery,
        response: { 200: ReceiptPage, ...errors },
      },
    },
    async (req) => page({ userId: req.query.user_id, ...filters(req.query) }),
  );

  app.get<{ Querystring: PaymentSummaryQuery }>(
    "/v1/admin/payments/summary",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "USD by status and operation of the payments created in [from, to) (default: the last 30 days)",
        querystring: PaymentSummaryQuery,
        response: { 200: PaymentSummary, ...errors },
      },
    },
    async (req) => {
      const to = req.query.to === undefined ? clock.now() + 1 : Date.parse(req.query.to);
      const from = req.query.from === undefined ? to - 30 * DAY : Date.parse(req.query.from);
      if (from > to) throw new StyxError("STYX_VALIDATION", "from must not be after to.", { details: { field: "/from" } });
      const rows = ledger ? await ledger.summary(from, to, req.query.user_id) : [];
      const totals = new Map<string, number>(PAYMENT_STATUSES.map((s) => [s, 0]));
      for (const r of rows) totals.set(r.status, (totals.get(r.status) ?? 0) + r.amount);
      return {
        from: iso(from),
        to: iso(to),
        rows: rows.map((r) => ({ status: r.status, operation: r.operation, amount_usd: atomicToUsd(r.amount), count: r.count })),
        by_status: Object.fromEntries([...totals].map(([s, n]) => [s, atomicToUsd(n)])),
      };
    },
  );

  app.get(
    "/v1/styx/credit",
    {
      config: { golemCredential: "own" },
      schema: { tags: ["payments"], summary: "The user's relay credit (SPEC §11.4)", response: { 200: CreditBalance, ...errors } },
    },
    async (req) => {
      const p = userPrincipal(req);
      if (!deps.credit) return { balance_usd: "0", balance_events: 0 };
      const v = await deps.credit.view(p.userId);
      return { balance_usd: v.balanceUsd, balance_events: v.balanceEvents };
    },
  );

  app.post<{ Body: TopupBody }>(
    "/v1/styx/credit/topup",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["payments"],
        summary: "Top up relay credit (0.001–100 USD), paid by x402 like a priced route; a top-up that fails to settle is taken back",
        body: TopupBody,
        response: { 200: TopupAnswer, 402: PaymentRequiredBody, 409: ErrorBody, 503: ErrorBody, ...errors },
      },
    },
    async (req) => {
      const p = userPrincipal(req);
      if (!deps.credit) throw new StyxError("STYX_PRICING_DISABLED");
      const payment = req.payment;
      // The payments plugin answered 402 before an unpaid top-up got here; this is the guard of a wiring mistake.
      if (!payment || !deps.ledger) throw new Error("a top-up reached its handler unpaid");
      const v = await deps.credit.topup(deps.ledger, payment.id, p.userId, payment.amount);
      return { balance_usd: v.balanceUsd, balance_events: v.balanceEvents, payment_id: payment.id };
    },
  );

  app.patch<{ Params: { key_id: string }; Body: PatchKeyBody }>(
    "/v1/admin/keys/:key_id",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Set a key's spend limits (USD per UTC day and month; null clears them)",
        params: KeyIdParams,
        body: PatchKeyBody,
        response: { 200: KeySpendLimit, ...errors },
      },
    },
    async (req) => {
      const key = await deps.identity.getApiKey(req.params.key_id);
      if (!key) throw new StyxError("STYX_NOT_FOUND", "No such key.");
      return setSpendLimit(deps, key.id, req.body.spend_limit);
    },
  );
}

/** Sets a key's spend limits from the wire (null: none) and answers them as set. */
export async function setSpendLimit(
  deps: Pick<PaymentRouteDeps, "limits" | "clock">,
  keyId: string,
  body: SpendLimitBody | null,
): Promise<{ id: string; spend_limit: { per_day_usd: string | null; per_month_usd: string | null } | null }> {
  if (!deps.limits) throw new StyxError("STYX_NOT_FOUND", "This Styx keeps no spend limits (amnesia).");
  const atomic = (v: string | null | undefined) => (v === undefined || v === null ? null : usdToAtomic(v));
  const limit: SpendLimit = { perDay: atomic(body?.per_day_usd), perMonth: atomic(body?.per_month_usd) };
  await deps.limits.setLimit(keyId, limit, deps.clock.now());
  if (limit.perDay === null && limit.perMonth === null) return { id: keyId, spend_limit: null };
  const usd = (n: number | null) => (n === null ? null : atomicToUsd(n));
  return { id: keyId, spend_limit: { per_day_usd: usd(limit.perDay), per_month_usd: usd(limit.perMonth) } };
}

function filters(q: PaymentsQuery): {
  status?: PaymentRecord["status"];
  from?: number;
  to?: number;
  after?: { createdAt: number; id: string };
  limit: number;
} {
  let after: { createdAt: number; id: string } | undefined;
  if (q.cursor !== undefined) {
    const dot = q.cursor.indexOf(".");
    after = { createdAt: Number(q.cursor.slice(0, dot)), id: q.cursor.slice(dot + 1) };
  }
  return {
    ...(q.status === undefined ? {} : { status: q.status }),
    ...(q.from === undefined ? {} : { from: Date.parse(q.from) }),
    ...(q.to === undefined ? {} : { to: Date.parse(q.to) }),
    ...(after ? { after } : {}),
    limit: q.limit ?? PAGE,
  };
}

/** A ledger row as the owner and the admin see it: never the signed payload. */
function presentReceipt(r: PaymentRecord) {
  return {
    id: r.id,
    operation: r.operation,
    purpose: r.purpose,
    amount_usd: atomicToUsd(r.amount),
    network: r.network,
    payer: r.payer,
    status: r.status,
    transaction: r.transaction,
    key_id: r.keyId,
    golem_id: r.golemId,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}
