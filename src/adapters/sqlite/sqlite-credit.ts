import type { CreditStore, SpendLimit, SpendLimitStore } from "../../core/payments/credit.js";
import type { SqliteDatabase } from "./database.js";

/** Relay credit and key spend limits on the micronode SQLite database (migration 16). */
export class SqliteCredit implements CreditStore, SpendLimitStore {
  readonly #db: SqliteDatabase;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  // Prepared on first use, as the payments ledger: a read-only tool on an older schema never touches them.
  get #q(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  async add(userId: string, amount: number, lowLine: number, at: number): Promise<number> {
    const r = this.#q.add.get({ userId, amount, lowLine, at }) as { balance: number };
    return r.balance;
  }

  async draw(userId: string, max: number, lowLine: number, at: number): Promise<{ drawn: number; balance: number; low: boolean }> {
    // One transaction of one connection: no other draw sees the balance between read and write.
    return this.#db.transaction(() => {
      const row = this.#q.read.get(userId) as { balance: number; low_sent: number } | undefined;
      if (!row || row.balance <= 0 || max <= 0) return { drawn: 0, balance: row?.balance ?? 0, low: false };
      const drawn = Math.min(row.balance, max);
      const balance = row.balance - drawn;
      const low = balance < lowLine && row.low_sent === 0;
      this.#q.write.run({ userId, balance, lowSent: low || row.low_sent === 1 ? 1 : 0, at });
      return { drawn, balance, low };
    })();
  }

  async balance(userId: string): Promise<number> {
    const row = this.#q.read.get(userId) as { balance: number } | undefined;
    return row?.balance ?? 0;
  }

  async getLimit(keyId: string): Promise<SpendLimit | undefined> {
    const row = this.#q.getLimit.get(keyId) as { per_day: number | null; per_month: number | null } | undefined;
    return row ? { perDay: row.per_day, perMonth: row.per_month } : undefined;
  }

  async setLimit(keyId: string, limit: SpendLimit, at: number): Promise<void> {
    if (limit.perDay === null && limit.perMonth === null) this.#q.dropLimit.run(keyId);
    else this.#q.setLimit.run({ keyId, perDay: limit.perDay, perMonth: limit.perMonth, at });
  }
}

function prepare(db: SqliteDatabase) {
  return {
    add: db.prepare(
      `INSERT INTO credit_balances (user_id, balance, low_sent, updated_at) VALUES (@userId, @amount, 0, @at)
         ON CONFLICT (user_id) DO UPDATE SET balance = balance + @amount, updated_at = @at,
           low_sent = CASE WHEN balance + @amount >= @lowLine THEN 0 ELSE low_sent END
         RETURNING balance`,
    ),
    read: db.prepare("SELECT balance, low_sent FROM credit_balances WHERE user_id = ?"),
    write: db.prepare("UPDATE credit_balances SET balance = @balance, low_sent = @lowSent, updated_at = @at WHERE user_id = @userId"),
    getLimit: db.prepare("SELECT per_day, per_month FROM key_spend_limits WHERE key_id = ?"),
    setLimit: db.prepare(
      `INSERT INTO key_spend_limits (key_id, per_day, per_month, updated_at) VALUES (@keyId, @perDay, @perMonth, @at)
         ON CONFLICT (key_id) DO UPDATE SET per_day = @perDay, per_month = @perMonth, updated_at = @at`,
    ),
    dropLimit: db.prepare("DELETE FROM key_spend_limits WHERE key_id = ?"),
  };
}
