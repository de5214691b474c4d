import type { CreditStore, SpendLimit, SpendLimitStore } from "../../core/payments/credit.js";
import type { PgSql } from "./database.js";

/** Relay credit and key spend limits on the macronode PostgreSQL database (migration 16), shared by every gateway. */
export class PostgresCredit implements CreditStore, SpendLimitStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async add(userId: string, amount: number, lowLine: number, at: number): Promise<number> {
    const [r] = await this.#sql<{ balance: string | number }[]>`
      INSERT INTO credit_balances AS c (user_id, balance, low_sent, updated_at) VALUES (${userId}, ${amount}, false, ${at})
      ON CONFLICT (user_id) DO UPDATE SET balance = c.balance + ${amount}, updated_at = ${at},
        low_sent = CASE WHEN c.balance + ${amount} >= ${lowLine} THEN false ELSE c.low_sent END
      RETURNING balance`;
    return Number(r?.balance ?? 0);
  }

  async draw(userId: string, max: number, lowLine: number, at: number): Promise<{ drawn: number; balance: number; low: boolean }> {
    if (max <= 0) return { drawn: 0, balance: await this.balance(userId), low: false };
    // One statement: the row lock orders concurrent draws of every gateway; `old` is the row as it was.
    const rows = await this.#sql<{ drawn: string | number; balance: string | number; low: boolean }[]>`
      WITH old AS (SELECT user_id, balance, low_sent FROM credit_balances WHERE user_id = ${userId} AND balance > 0 FOR UPDATE)
      UPDATE credit_balances c SET balance = c.balance - least(old.balance, ${max}), updated_at = ${at},
        low_sent = old.low_sent OR old.balance - least(old.balance, ${max}) < ${lowLine}
      FROM old WHERE c.user_id = old.user_id
      RETURNING least(old.balance, ${max}) AS drawn, c.balance AS balance, (NOT old.low_sent AND c.balance < ${lowLine}) AS low`;
    const r = rows[0];
    if (!r) return { drawn: 0, balance: await this.balance(userId), low: false };
    return { drawn: Number(r.drawn), balance: Number(r.balance), low: r.low };
  }

  async balance(userId: string): Promise<number> {
    const [r] = await this.#sql<{ balance: string | number }[]>`SELECT balance FROM credit_balances WHERE user_id = ${userId}`;
    return r ? Number(r.balance) : 0;
  }

  async getLimit(keyId: string): Promise<SpendLimit | undefined> {
    const [r] = await this.#sql<{ per_day: string | number | null; per_month: string | number | null }[]>`
      SELECT per_day, per_month FROM key_spend_limits WHERE key_id = ${keyId}`;
    if (!r) return undefined;
    return { perDay: r.per_day === null ? null : Number(r.per_day), perMonth: r.per_month === null ? null : Number(r.per_month) };
  }

  async setLimit(keyId: string, limit: SpendLimit, at: number): Promise<void> {
    if (limit.perDay === null && limit.perMonth === null) {
      await this.#sql`DELETE FROM key_spend_limits WHERE key_id = ${keyId}`;
      return;
    }
    await this.#sql`
      INSERT INTO key_spend_limits (key_id, per_day, per_month, updated_at) VALUES (${keyId}, ${limit.perDay}, ${limit.perMonth}, ${at})
      ON CONFLICT (key_id) DO UPDATE SET per_day = ${limit.perDay}, per_month = ${limit.perMonth}, updated_at = ${at}`;
  }
}
