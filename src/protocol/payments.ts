import { type Static, Type } from "typebox";
import { PAYMENT_STATUSES } from "../core/payments/ledger.js";
import { Id, IsoTime, Nullable } from "./common.js";

/** Wire schemas of payments and credit (SPEC §11.3–11.4): receipts, the admin's summary, relay credit, key spend limits. */

const Strict = { additionalProperties: false } as const;

/** A USD amount as a decimal string (at most 6 whole digits and 6 decimals). */
export const UsdString = (description: string) => Type.String({ pattern: "^[0-9]{1,6}(\\.[0-9]{1,6})?$", description });

const Status = Type.Unsafe<(typeof PAYMENT_STATUSES)[number]>(Type.String({ enum: [...PAYMENT_STATUSES] }));

/** The receipt filters shared by the owner's and the admin's list. */
const receiptFilters = {
  status: Type.Optional(Status),
  from: Type.Optional(Type.String({ format: "date-time", description: "Created at or after (ISO-8601)" })),
  to: Type.Optional(Type.String({ format: "date-time", description: "Created before (ISO-8601)" })),
  cursor: Type.Optional(
    Type.String({ pattern: "^[0-9]{1,16}\\.[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", description: "next_cursor of the previous page" }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "Receipts per page (default 50)" })),
};

/** `GET /v1/styx/payments` query. */
export const PaymentsQuery = Type.Object(receiptFilters, Strict);
export type PaymentsQuery = Static<typeof PaymentsQuery>;

/** `GET /v1/admin/payments` query: any user's, or one's. */
export const AdminPaymentsQuery = Type.Object({ user_id: Type.Optional(Id), ...receiptFilters }, Strict);
export type AdminPaymentsQuery = Static<typeof AdminPaymentsQuery>;

/** `GET /v1/admin/payments/summary` query (default: the last 30 days). */
export const PaymentSummaryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: "date-time" })),
    to: Type.Optional(Type.String({ format: "date-time" })),
    user_id: Type.Optional(Id),
  },
  Strict,
);
export type PaymentSummaryQuery = Static<typeof PaymentSummaryQuery>;

export const PaymentIdParams = Type.Object({ payment_id: Id }, Strict);

/** A receipt: what was paid, by whom, for what, and where its settlement is. */
export const Receipt = Type.Object({
  id: Type.String(),
  operation: Type.String({ description: "The priced operation (SPEC §11.1), or credit_topup" }),
  purpose: Type.String({ description: "request | topup | purchase" }),
  amount_usd: Type.String(),
  network: Type.String({ description: "CAIP-2" }),
  payer: Type.String({ description: "The paying wallet" }),
  status: Status,
  transaction: Nullable(Type.String({ description: "The settlement's transaction hash, once settled" })),
  key_id: Nullable(Type.String()),
  golem_id: Nullable(Type.String()),
  created_at: IsoTime,
  updated_at: IsoTime,
});

/** A page of receipts, oldest first; `next_cursor` null on the last page. */
export const ReceiptPage = Type.Object({ payments: Type.Array(Receipt), next_cursor: Nullable(Type.String()) });

/** `GET /v1/admin/payments/summary` answer: USD by status and operation. */
export const PaymentSummary = Type.Object({
  from: IsoTime,
  to: IsoTime,
  rows: Type.Array(Type.Object({ status: Status, operation: Type.String(), amount_usd: Type.String(), count: Type.Integer() })),
  by_status: Type.Record(Type.String(), Type.String(), { description: "USD by status" }),
});

/** A 402 (SPEC §11.2): the error, plus x402 v1's offer for old clients (v2's is the PAYMENT-REQUIRED header). */
export const PaymentRequiredBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: "STYX_PAYMENT_REQUIRED or STYX_PAYMENT_INVALID" }),
    message: Type.String(),
    request_id: Type.Optional(Type.String()),
    details: Type.Optional(Type.Unknown()),
  }),
  x402Version: Type.Literal(1),
  accepts: Type.Array(Type.Unknown(), { description: "x402 v1 payment requirements" }),
});

/** `POST /v1/styx/credit/topup` body. */
export const TopupBody = Type.Object({ amount_usd: UsdString("USD to add (0.001–100), paid by x402 like a priced route") }, Strict);
export type TopupBody = Static<typeof TopupBody>;

/** A user's relay credit. */
export const CreditBalance = Type.Object({
  balance_usd: Type.String(),
  balance_events: Type.Integer({ description: "Socket events (event, clade_delta) it relays" }),
});

/** `POST /v1/styx/credit/topup` answer. */
export const TopupAnswer = Type.Object({ balance_usd: Type.String(), balance_events: Type.Integer(), payment_id: Type.String() });

/** A key's spend limits (SPEC §11.4), USD per UTC day and month; null or left out: none. */
export const SpendLimitBody = Type.Object(
  {
    per_day_usd: Type.Optional(Nullable(UsdString("Most the key's payments may total per UTC day"))),
    per_month_usd: Type.Optional(Nullable(UsdString("Most the key's payments may total per UTC month"))),
  },
  Strict,
);
export type SpendLimitBody = Static<typeof SpendLimitBody>;

/** `PATCH /v1/admin/keys/:key_id` body. */
export const PatchKeyBody = Type.Object({ spend_limit: Nullable(SpendLimitBody) }, Strict);
export type PatchKeyBody = Static<typeof PatchKeyBody>;

/** A key's spend limits as set. */
export const KeySpendLimit = Type.Object({
  id: Type.String(),
  spend_limit: Nullable(Type.Object({ per_day_usd: Nullable(Type.String()), per_month_usd: Nullable(Type.String()) })),
});
