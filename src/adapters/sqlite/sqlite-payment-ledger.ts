import type {
  CappedReservation,
  NewPayment,
  PaymentFilter,
  PaymentLedger,
  PaymentRecord,
  PaymentSummaryRow,
  SettlementOutcome,
  SpendCap,
  TopupCredit,
} from "../../core/payments/ledger.js";
import type { SqlRow } from "../sql/codec.js";
import { PAYMENT_COLUMNS, paymentFromRow, summaryFromRow } from "../sql/payment-rows.js";
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
  async reserveWithin(p: NewPayment, caps: readonly SpendCap[]): Promise<CappedReservation> {
    // BEGIN IMMEDIATE: the write lock is taken before the sums are read, so no other connection
    // (another process on the same file) reserves between them and the insert.
    return this.#db
      .transaction((): CappedReservation => {
        if (this.#q.seen.get(p) !== undefined) return { kind: "replayed" };
        for (const [index, c] of caps.entries()) {
          const spent = p.keyId === null ? 0 : Number((this.#q.spent.get(p.keyId, c.since) as { n: number | null }).n ?? 0);
          if (spent + p.amount > c.cap) return { kind: "capped", index, spent };
        }
        return this.#q.reserve.run(p).changes === 1 ? { kind: "reserved" } : { kind: "replayed" };
      })
      .immediate();
  }
  async acceptTopup(id: string, credit: TopupCredit, at: number): Promise<number | undefined> {
    return this.#db
      .transaction((): number | undefined => {
        if (this.#q.finish.run("accepted", at, id).changes !== 1) return undefined;
        return (this.#q.credit.get({ ...credit, at }) as { balance: number }).balance;
      })
      .immediate();
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
  async list(f: PaymentFilter): Promise<PaymentRecord[]> {
    const where: string[] = [];
    const args: Record<string, string | number> = { limit: Math.max(0, f.limit) };
    if (f.userId !== undefined) where.push("user_id = @userId"), (args.userId = f.userId);
    if (f.golemId !== undefined) where.push("golem_id = @golemId"), (args.golemId = f.golemId);
    if (f.status !== undefined) where.push("status = @status"), (args.status = f.status);
    if (f.from !== undefined) where.push("created_at >= @from"), (args.from = f.from);
    if (f.to !== undefined) where.push("created_at < @to"), (args.to = f.to);
    if (f.after !== undefined) {
      where.push("(created_at > @afterAt OR (created_at = @afterAt AND id > @afterId))");
      args.afterAt = f.after.createdAt;
      args.afterId = f.after.id;
    }
    const sql = `SELECT ${PAYMENT_COLUMNS} FROM payments ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at, id LIMIT @limit`;
    return (this.#db.prepare(sql).all(args) as SqlRow[]).map(paymentFromRow);
  }
  async summary(from: number, to: number, userId?: string): Promise<PaymentSummaryRow[]> {
    const rows = this.#q.summary.all({ from, to, userId: userId ?? null }) as SqlRow[];
    return rows.map(summaryFromRow);
  }
  async spent(keyId: string, since: number): Promise<number> {
    const r = this.#q.spent.get(keyId, since) as { n: number | null };
    return Number(r.n ?? 0);
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
    seen: db.prepare("SELECT 1 FROM payments WHERE network = @network AND asset = @asset AND payer = @payer AND nonce = @nonce"),
    // CreditStore.add's statement (sqlite-credit.ts), in the top-up's transaction.
    credit: db.prepare(
      `INSERT INTO credit_balances (user_id, balance, low_sent, updated_at) VALUES (@userId, @amount, 0, @at)
         ON CONFLICT (user_id) DO UPDATE SET balance = balance + @amount, updated_at = @at,
           low_sent = CASE WHEN balance + @amount >= @lowLine THEN 0 ELSE low_sent END
         RETURNING balance`,
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
    summary: db.prepare(
      `SELECT status, operation, sum(amount) AS amount, count(*) AS n FROM payments
         WHERE created_at >= @from AND created_at < @to AND (@userId IS NULL OR user_id = @userId)
         GROUP BY status, operation ORDER BY status, operation`,
    ),
    spent: db.prepare("SELECT sum(amount) AS n FROM payments WHERE key_id = ? AND created_at >= ? AND status NOT IN ('voided', 'failed')"),
    failedSince: db.prepare(
      "SELECT 1 FROM payments WHERE payer = ? AND status = 'failed' AND network = ? AND error = ? AND updated_at >= ? LIMIT 1",
    ),
  };
}
