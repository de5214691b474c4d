/**
 * The payments ledger (SPEC §11.3): every signed authorization Styx took, with its status.
 *
 *   reserved → accepted | voided          (the request's answer: status < 400, or ≥ 400 / replayed)
 *   accepted → settling → settled | failed (the settlement task; a retryable error: back to accepted)
 *
 * A row is keyed twice: by its `id`, and by (network, asset, payer, nonce) under a unique
 * constraint in the shared store, which is the replay protection of SPEC §11.2 step 5 across
 * every gateway and restart. A voided row keeps its nonce spent.
 */

/** Where a payment is in its life. */
export const PAYMENT_STATUSES = ["reserved", "accepted", "voided", "settling", "settled", "failed"] as const;
/** One of PAYMENT_STATUSES. */
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
/** What a payment paid for: a priced request, a credit top-up, a marketplace purchase. */
export type PaymentPurpose = "request" | "topup" | "purchase";

/** A payment as the ledger keeps it. Addresses and nonces lower-case; times in ms, `validBefore` in unix seconds. */
export interface PaymentRecord {
  readonly id: string;
  readonly network: string;
  readonly asset: string;
  readonly payer: string;
  readonly nonce: string;
  /** Atomic units (USDC: 1 USD = 1,000,000). */
  readonly amount: number;
  readonly operation: string;
  readonly purpose: PaymentPurpose;
  readonly userId: string | null;
  readonly keyId: string | null;
  readonly golemId: string | null;
  readonly status: PaymentStatus;
  /** The x402 payment payload as received (v2, or v1's `X-PAYMENT`), JSON: what `/settle` is sent. */
  readonly payload: string;
  /** The payment requirements it was checked against, JSON, in the payload's x402 version. */
  readonly requirements: string;
  /** The authorization's `validBefore` (unix seconds): settle before it, or it can no longer be. */
  readonly validBefore: number;
  /** The settlement's transaction hash, once settled. */
  readonly transaction: string | null;
  /** Why the last settlement attempt failed, if one did. */
  readonly error: string | null;
  /** `/settle` attempts made so far. */
  readonly attempts: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A payment to reserve: a record before its first status. */
export type NewPayment = Omit<PaymentRecord, "status" | "transaction" | "error" | "attempts" | "updatedAt">;

/** What a settling row became: settled (with its transaction), failed for good, or back to accepted for a retry. */
export type SettlementOutcome =
  | { readonly status: "settled"; readonly transaction: string }
  | { readonly status: "failed"; readonly error: string }
  | { readonly status: "accepted"; readonly error: string };

/**
 * The payments ledger port. Obligations:
 * - `reserve` inserts under the unique (network, asset, payer, nonce) and answers false, writing
 *   nothing, when that authorization was reserved before — by any handle of the same store, at
 *   any time (replay protection); concurrent reserves of one authorization: exactly one wins;
 * - status changes are conditional on the current status (`finish` only from `reserved`, `resolve`
 *   only from `settling`) and answer whether the row changed: a late or duplicate call is a no-op;
 * - `claim` moves up to `limit` accepted rows to settling in one atomic update and returns them
 *   (attempts counted): two concurrent claims never return the same row;
 * - everything survives restarts (SQLite file, PostgreSQL); the memory adapter is for tests.
 */
export interface PaymentLedger {
  reserve(payment: NewPayment): Promise<boolean>;
  /**
   * `reserve` under the payment key's spend caps (SPEC §11.4), in one atomic step: the amounts of
   * the key's payments that still count (neither voided nor failed) created since each cap's
   * `since`, plus this payment's, must stay within its `cap`, else nothing is written and the
   * first cap passed is answered with what was spent. Concurrent reserves of one key, on any
   * handle of the store (every gateway), are ordered: together they never pass a cap.
   */
  reserveWithin(payment: NewPayment, caps: readonly SpendCap[]): Promise<CappedReservation>;
  /** reserved → accepted (the answer succeeded) or voided (it failed, or was replayed). */
  finish(id: string, status: "accepted" | "voided", at: number): Promise<boolean>;
  /**
   * reserved → accepted for a top-up, and its amount added to the user's relay credit, in one
   * transaction: either both happen or neither does (a crash between them leaves nothing
   * half done). Answers the balance after, or undefined (nothing changed) when the row was not reserved.
   */
  acceptTopup(id: string, credit: TopupCredit, at: number): Promise<number | undefined>;
  /** Claims up to `limit` accepted rows for settlement (soonest `validBefore` first). */
  claim(limit: number, at: number): Promise<PaymentRecord[]>;
  /** Rows left in settling (a settlement cut short by a crash): resent at start. */
  settling(limit: number): Promise<PaymentRecord[]>;
  /** settling → settled | failed | accepted (retry). */
  resolve(id: string, outcome: SettlementOutcome, at: number): Promise<boolean>;
  get(id: string): Promise<PaymentRecord | undefined>;
  /** Accepted rows waiting for settlement, and the soonest `validBefore` among them. */
  pending(): Promise<{ readonly count: number; readonly soonestValidBefore: number | null }>;
  /** Whether `payer` has a payment on `network` that failed with `error` at or after `since` (ms). */
  failedSince(network: string, payer: string, error: string, since: number): Promise<boolean>;
  /** Receipts matching `filter`, oldest first (by `createdAt`, then `id`), after `filter.after`. */
  list(filter: PaymentFilter): Promise<PaymentRecord[]>;
  /** Amounts and counts by status and operation of the payments created in [from, to) (ms), of one user or all. */
  summary(from: number, to: number, userId?: string): Promise<PaymentSummaryRow[]>;
  /** Atomic units of `keyId`'s payments created at or after `since` (ms) that still count: neither voided nor failed. */
  spent(keyId: string, since: number): Promise<number>;
}

/** One spend limit of a key as the ledger checks it: no more than `cap` atomic units created at or after `since` (ms). */
export interface SpendCap {
  readonly since: number;
  readonly cap: number;
}

/** What `reserveWithin` did: reserved, refused as a replay, or refused by `caps[index]` (having `spent` already). */
export type CappedReservation =
  | { readonly kind: "reserved" }
  | { readonly kind: "replayed" }
  | { readonly kind: "capped"; readonly index: number; readonly spent: number };

/** The credit a top-up buys: `amount` atomic units to `userId`; `lowLine` as CreditStore.add's. */
export interface TopupCredit {
  readonly userId: string;
  readonly amount: number;
  readonly lowLine: number;
}

/** Which receipts to list (SPEC §11.3): each field narrows; times in ms, `to` excluded. */
export interface PaymentFilter {
  readonly userId?: string | undefined;
  readonly golemId?: string | undefined;
  readonly status?: PaymentStatus | undefined;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** The last receipt of the previous page: the page starts after it. */
  readonly after?: { readonly createdAt: number; readonly id: string } | undefined;
  readonly limit: number;
}

/** One cell of a summary: the payments of one status and operation. */
export interface PaymentSummaryRow {
  readonly status: PaymentStatus;
  readonly operation: string;
  /** Atomic units. */
  readonly amount: number;
  readonly count: number;
}
