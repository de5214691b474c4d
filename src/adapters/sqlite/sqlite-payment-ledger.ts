import type { NewPayment, PaymentLedger, PaymentRecord, SettlementOutcome } from "../../core/payments/ledger.js";
import type { SqlRow } from "../sql/codec.js";
import { PAYMENT_COLUMNS, paymentFromRow } from "../sql/payment-rows.js";
import type { SqliteDatabase } from "./database.js";

/** PaymentLedger on the micronode SQLite database (table `payments`, migration 13). */
export class SqlitePaymentLedger implements PaymentLedger {
  readonly #db: SqliteDatabase;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  // Prepared on first use: a store opened read only by a tool (`styx audit verify`) on a database
  // of an older schema has no payments table, and never touches it.
  get #q(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  async reserve(p: NewPayment): Promise<boolean> {
    return this.#q.reserve.run(p).changes === 1;
  }
  async finish(id: string, status: "accepted" | "voided", at: number): Promise<boolean> {
    return this.#q.finish.run(status, at, id).changes === 1;
  }
  async claim(limit: number, at: number): Promise<PaymentRecord[]> {
    if (limit <= 0) return [];
    return (this.#q.claim.all({ limit, at }) as SqlRow[]).map(paymentFromRow).sort(byDeadline);
  }
  async settling(limit: number): Promise<PaymentRecord[]> {
    return (this.#q.settling.all(limit) as SqlRow[]).map(paymentFromRow);
  }
  async resolve(id: string, outcome: SettlementOutcome, at: number): Promise<boolean> {
    const transaction = outcome.status === "settled" ? outcome.transaction : null;
    const error = outcome.status === "settled" ? null : outcome.error;
    return this.#q.resolve.run({ id, status: outcome.status, transaction, error, at }).changes === 1;
  }
  async get(id: string): Promise<PaymentRecord | undefined> {
    const row = this.#q.get.get(id) as SqlRow | undefined;
    return row ? paymentFromRow(row) : undefined;
  }
  async pending(): Promise<{ count: number; soonestValidBefore: number | null }> {
    const r = this.#q.pending.get() as { n: number; soonest: number | null };
    return { count: r.n, soonestValidBefore: r.soonest };
  }
  async failedSince(network: string, payer: string, error: string, since: number): Promise<boolean> {
    return this.#q.failedSince.get(payer, network, error, since) !== undefined;
  }
}

/** RETURNING gives rows in no promised order: soonest deadline first, as claimed. */
function byDeadline(a: PaymentRecord, b: PaymentRecord): number {
  return a.validBefore - b.validBefore || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The ledger's statements on `db`. */
function prepare(db: SqliteDatabase) {
  return {
    reserve: db.prepare(
      `INSERT INTO payments (id, network, asset, payer, nonce, amount, operation, purpose, user_id, key_id, golem_id, status,
           payload, requirements, valid_before, created_at, updated_at)
         VALUES (@id, @network, @asset, @payer, @nonce, @amount, @operation, @purpose, @userId, @keyId, @golemId, 'reserved',
           @payload, @requirements, @validBefore, @createdAt, @createdAt)
         ON CONFLICT (network, asset, payer, nonce) DO NOTHING`,
    ),
    finish: db.prepare("UPDATE payments SET status = ?, updated_at = ? WHERE id = ? AND status = 'reserved'"),
    // One statement: the rows it selects are the rows it moves, and no other claim sees them as accepted.
    claim: db.prepare(
      `UPDATE payments SET status = 'settling', attempts = attempts + 1, updated_at = @at
         WHERE id IN (SELECT id FROM payments WHERE status = 'accepted' ORDER BY valid_before, id LIMIT @limit)
         RETURNING ${PAYMENT_COLUMNS}`,
    ),
    settling: db.prepare(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE status = 'settling' ORDER BY valid_before, id LIMIT ?`),
    resolve: db.prepare(
      `UPDATE payments SET status = @status, transaction_hash = coalesce(@transaction, transaction_hash), error = @error, updated_at = @at
         WHERE id = @id AND status = 'settling'`,
    ),
    get: db.prepare(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = ?`),
    pending: db.prepare("SELECT count(*) AS n, min(valid_before) AS soonest FROM payments WHERE status = 'accepted'"),
    failedSince: db.prepare(
      "SELECT 1 FROM payments WHERE payer = ? AND status = 'failed' AND network = ? AND error = ? AND updated_at >= ? LIMIT 1",
    ),
  };
}
