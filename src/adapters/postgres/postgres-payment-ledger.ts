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
import type { PgSql } from "./database.js";

/** PaymentLedger on the macronode PostgreSQL database (table `payments`, migration 13), shared by every gateway. */
export class PostgresPaymentLedger implements PaymentLedger {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async reserve(p: NewPayment): Promise<boolean> {
    const rows = await this.#sql`
      INSERT INTO payments (id, network, asset, payer, nonce, amount, operation, purpose, user_id, key_id, golem_id, status,
        payload, requirements, valid_before, created_at, updated_at)
      VALUES (${p.id}, ${p.network}, ${p.asset}, ${p.payer}, ${p.nonce}, ${p.amount}, ${p.operation}, ${p.purpose}, ${p.userId},
        ${p.keyId}, ${p.golemId}, 'reserved', ${p.payload}, ${p.requirements}, ${p.validBefore}, ${p.createdAt}, ${p.createdAt})
      ON CONFLICT (network, asset, payer, nonce) DO NOTHING
      RETURNING id`;
    return rows.length === 1;
  }
  async reserveWithin(p: NewPayment, caps: readonly SpendCap[]): Promise<CappedReservation> {
    if (caps.length === 0 || p.keyId === null) return (await this.reserve(p)) ? { kind: "reserved" } : { kind: "replayed" };
    const keyId = p.keyId;
    return this.#sql.begin(async (tx): Promise<CappedReservation> => {
      // A lock per key for the transaction: every gateway's reserves of one key run one at a
      // time from the sums to the insert (payments of other keys are not held up).
      await tx`SELECT pg_advisory_xact_lock(${SPEND_LOCK}, hashtext(${keyId}))`;
      // A replay is a replay first (the unique insert below decides a race of two).
      const seen =
        await tx`SELECT 1 FROM payments WHERE network = ${p.network} AND asset = ${p.asset} AND payer = ${p.payer} AND nonce = ${p.nonce}`;
      if (seen.length > 0) return { kind: "replayed" };
      for (const [index, c] of caps.entries()) {
        const [r] = await tx<{ n: string | number | null }[]>`
          SELECT sum(amount)::bigint AS n FROM payments
          WHERE key_id = ${keyId} AND created_at >= ${c.since} AND status NOT IN ('voided', 'failed')`;
        const spent = Number(r?.n ?? 0);
        if (spent + p.amount > c.cap) return { kind: "capped", index, spent };
      }
      const rows = await tx`
        INSERT INTO payments (id, network, asset, payer, nonce, amount, operation, purpose, user_id, key_id, golem_id, status,
          payload, requirements, valid_before, created_at, updated_at)
        VALUES (${p.id}, ${p.network}, ${p.asset}, ${p.payer}, ${p.nonce}, ${p.amount}, ${p.operation}, ${p.purpose}, ${p.userId},
          ${p.keyId}, ${p.golemId}, 'reserved', ${p.payload}, ${p.requirements}, ${p.validBefore}, ${p.createdAt}, ${p.createdAt})
        ON CONFLICT (network, asset, payer, nonce) DO NOTHING
        RETURNING id`;
      return rows.length === 1 ? { kind: "reserved" } : { kind: "replayed" };
    }) as Promise<CappedReservation>;
  }
  async acceptTopup(id: string, credit: TopupCredit, at: number): Promise<number | undefined> {
    return this.#sql.begin(async (tx): Promise<number | undefined> => {
      const moved =
        await tx`UPDATE payments SET status = 'accepted', updated_at = ${at} WHERE id = ${id} AND status = 'reserved' RETURNING id`;
      if (moved.length !== 1) return undefined;
      // CreditStore.add's statement (postgres-credit.ts), in the same transaction.
      const [r] = await tx<{ balance: string | number }[]>`
        INSERT INTO credit_balances AS c (user_id, balance, low_sent, updated_at) VALUES (${credit.userId}, ${credit.amount}, false, ${at})
        ON CONFLICT (user_id) DO UPDATE SET balance = c.balance + ${credit.amount}, updated_at = ${at},
          low_sent = CASE WHEN c.balance + ${credit.amount} >= ${credit.lowLine} THEN false ELSE c.low_sent END
        RETURNING balance`;
      return Number(r?.balance ?? 0);
    }) as Promise<number | undefined>;
  }
  async finish(id: string, status: "accepted" | "voided", at: number): Promise<boolean> {
    const rows = await this
      .#sql`UPDATE payments SET status = ${status}, updated_at = ${at} WHERE id = ${id} AND status = 'reserved' RETURNING id`;
    return rows.length === 1;
  }
  async claim(limit: number, at: number): Promise<PaymentRecord[]> {
    if (limit <= 0) return [];
    // Rows another claim holds are skipped, not waited for. The CTE is materialized: a subquery
    // under `IN` may be run again per row, and then claims more than `limit`.
    const rows = await this.#sql<SqlRow[]>`
      WITH due AS MATERIALIZED (
        SELECT id FROM payments WHERE status = 'accepted' ORDER BY valid_before, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE payments p SET status = 'settling', attempts = p.attempts + 1, updated_at = ${at}
      FROM due WHERE p.id = due.id AND p.status = 'accepted'
      RETURNING ${this.#sql.unsafe(
        PAYMENT_COLUMNS.split(", ")
          .map((c) => `p.${c}`)
          .join(", "),
      )}`;
    return rows.map(paymentFromRow).sort((a, b) => a.validBefore - b.validBefore || (a.id < b.id ? -1 : 1));
  }
  async settling(limit: number): Promise<PaymentRecord[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT ${this.#sql.unsafe(PAYMENT_COLUMNS)} FROM payments WHERE status = 'settling' ORDER BY valid_before, id LIMIT ${limit}`;
    return rows.map(paymentFromRow);
  }
  async resolve(id: string, outcome: SettlementOutcome, at: number): Promise<boolean> {
    const transaction = outcome.status === "settled" ? outcome.transaction : null;
    const error = outcome.status === "settled" ? null : outcome.error;
    const rows = await this.#sql`
      UPDATE payments SET status = ${outcome.status}, transaction_hash = coalesce(${transaction}::text, transaction_hash),
        error = ${error}, updated_at = ${at}
      WHERE id = ${id} AND status = 'settling' RETURNING id`;
    return rows.length === 1;
  }
  async get(id: string): Promise<PaymentRecord | undefined> {
    const [row] = await this.#sql<SqlRow[]>`SELECT ${this.#sql.unsafe(PAYMENT_COLUMNS)} FROM payments WHERE id = ${id}`;
    return row ? paymentFromRow(row) : undefined;
  }
  async pending(): Promise<{ count: number; soonestValidBefore: number | null }> {
    const [r] = await this.#sql<{ n: number; soonest: number | null }[]>`
      SELECT count(*)::int AS n, min(valid_before) AS soonest FROM payments WHERE status = 'accepted'`;
    return { count: Number(r?.n ?? 0), soonestValidBefore: r?.soonest === null || r?.soonest === undefined ? null : Number(r.soonest) };
  }
  async failedSince(network: string, payer: string, error: string, since: number): Promise<boolean> {
    const rows = await this.#sql`
      SELECT 1 FROM payments WHERE payer = ${payer} AND status = 'failed' AND network = ${network} AND error = ${error}
        AND updated_at >= ${since} LIMIT 1`;
    return rows.length > 0;
  }
  async list(f: PaymentFilter): Promise<PaymentRecord[]> {
    const sql = this.#sql;
    const none = sql`TRUE`;
    const rows = await sql<SqlRow[]>`
      SELECT ${sql.unsafe(PAYMENT_COLUMNS)} FROM payments
      WHERE ${f.userId === undefined ? none : sql`user_id = ${f.userId}`}
        AND ${f.golemId === undefined ? none : sql`golem_id = ${f.golemId}`}
        AND ${f.status === undefined ? none : sql`status = ${f.status}`}
        AND ${f.from === undefined ? none : sql`created_at >= ${f.from}`}
        AND ${f.to === undefined ? none : sql`created_at < ${f.to}`}
        AND ${f.after === undefined ? none : sql`(created_at, id) > (${f.after.createdAt}, ${f.after.id})`}
      ORDER BY created_at, id LIMIT ${Math.max(0, f.limit)}`;
    return rows.map(paymentFromRow);
  }
  async summary(from: number, to: number, userId?: string): Promise<PaymentSummaryRow[]> {
    const rows = await this.#sql<SqlRow[]>`
      SELECT status, operation, sum(amount)::bigint AS amount, count(*)::int AS n FROM payments
      WHERE created_at >= ${from} AND created_at < ${to} AND (${userId ?? null}::text IS NULL OR user_id = ${userId ?? null})
      GROUP BY status, operation ORDER BY status, operation`;
    return rows.map(summaryFromRow);
  }
  async spent(keyId: string, since: number): Promise<number> {
    const [r] = await this.#sql<{ n: string | number | null }[]>`
      SELECT sum(amount)::bigint AS n FROM payments
      WHERE key_id = ${keyId} AND created_at >= ${since} AND status NOT IN ('voided', 'failed')`;
    return Number(r?.n ?? 0);
  }
}

/** The first key of the advisory locks that order a key's capped reserves (an arbitrary constant: "sp"). */
const SPEND_LOCK = 0x7370;
