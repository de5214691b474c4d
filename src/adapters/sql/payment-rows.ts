import type { PaymentPurpose, PaymentRecord, PaymentStatus, PaymentSummaryRow } from "../../core/payments/ledger.js";
import type { SqlRow } from "./codec.js";

/** The columns of `payments`, in the order the stores select them. */
export const PAYMENT_COLUMNS =
  "id, network, asset, payer, nonce, amount, operation, purpose, user_id, key_id, golem_id, status, payload, requirements, valid_before, transaction_hash, error, attempts, created_at, updated_at";

/** A `payments` row (either engine) as a record; PostgreSQL's bigints arrive as numbers (database.ts). */
export function paymentFromRow(r: SqlRow): PaymentRecord {
  return {
    id: r.id as string,
    network: r.network as string,
    asset: r.asset as string,
    payer: r.payer as string,
    nonce: r.nonce as string,
    amount: Number(r.amount),
    operation: r.operation as string,
    purpose: r.purpose as PaymentPurpose,
    userId: (r.user_id as string | null) ?? null,
    keyId: (r.key_id as string | null) ?? null,
    golemId: (r.golem_id as string | null) ?? null,
    status: r.status as PaymentStatus,
    payload: r.payload as string,
    requirements: r.requirements as string,
    validBefore: Number(r.valid_before),
    transaction: (r.transaction_hash as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** A summary row (`status, operation, amount, n`) of either engine. */
export function summaryFromRow(r: SqlRow): PaymentSummaryRow {
  return { status: r.status as PaymentStatus, operation: r.operation as string, amount: Number(r.amount), count: Number(r.n) };
}
