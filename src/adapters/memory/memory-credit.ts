import type { CreditStore, SpendLimit, SpendLimitStore } from "../../core/payments/credit.js";

/** Relay credit and spend limits in this process's memory: for core tests and the contract suite (pricing refuses amnesia). */
export class MemoryCredit implements CreditStore, SpendLimitStore {
  readonly #balances = new Map<string, { balance: number; lowSent: boolean }>();
  readonly #limits = new Map<string, SpendLimit>();

  async add(userId: string, amount: number, lowLine: number): Promise<number> {
    const row = this.#balances.get(userId) ?? { balance: 0, lowSent: false };
    const balance = row.balance + amount;
    this.#balances.set(userId, { balance, lowSent: balance >= lowLine ? false : row.lowSent });
    return balance;
  }
  async draw(userId: string, max: number, lowLine: number): Promise<{ drawn: number; balance: number; low: boolean }> {
    const row = this.#balances.get(userId);
    if (!row || row.balance <= 0 || max <= 0) return { drawn: 0, balance: row?.balance ?? 0, low: false };
    const drawn = Math.min(row.balance, max);
    const balance = row.balance - drawn;
    const low = balance < lowLine && !row.lowSent;
    this.#balances.set(userId, { balance, lowSent: row.lowSent || low });
    return { drawn, balance, low };
  }
  async balance(userId: string): Promise<number> {
    return this.#balances.get(userId)?.balance ?? 0;
  }
  async getLimit(keyId: string): Promise<SpendLimit | undefined> {
    return this.#limits.get(keyId);
  }
  async setLimit(keyId: string, limit: SpendLimit): Promise<void> {
    if (limit.perDay === null && limit.perMonth === null) this.#limits.delete(keyId);
    else this.#limits.set(keyId, limit);
  }
}
