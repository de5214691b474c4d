import type { NewPayment, PaymentLedger, PaymentRecord, SettlementOutcome } from "../../core/payments/ledger.js";

/**
 * PaymentLedger in this process's memory: for core unit tests and the contract suite. Never a
 * server's ledger (pricing refuses amnesia): a payment must outlive the process that took it.
 */
export class MemoryPaymentLedger implements PaymentLedger {
  readonly #rows = new Map<string, PaymentRecord>();
  readonly #keys = new Set<string>();

  async reserve(p: NewPayment): Promise<boolean> {
    const key = `${p.network}\u0000${p.asset}\u0000${p.payer}\u0000${p.nonce}`;
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    this.#rows.set(p.id, { ...p, status: "reserved", transaction: null, error: null, attempts: 0, updatedAt: p.createdAt });
    return true;
  }
  async finish(id: string, status: "accepted" | "voided", at: number): Promise<boolean> {
    return this.#move(id, "reserved", { status, updatedAt: at });
  }
  async claim(limit: number, at: number): Promise<PaymentRecord[]> {
    const due = [...this.#rows.values()]
      .filter((r) => r.status === "accepted")
      .sort(byDeadline)
      .slice(0, Math.max(0, limit));
    return due.map((r) => {
      const claimed: PaymentRecord = { ...r, status: "settling", attempts: r.attempts + 1, updatedAt: at };
      this.#rows.set(r.id, claimed);
      return claimed;
    });
  }
  async settling(limit: number): Promise<PaymentRecord[]> {
    return [...this.#rows.values()]
      .filter((r) => r.status === "settling")
      .sort(byDeadline)
      .slice(0, limit);
  }
  async resolve(id: string, outcome: SettlementOutcome, at: number): Promise<boolean> {
    const row = this.#rows.get(id);
    const transaction = outcome.status === "settled" ? outcome.transaction : (row?.transaction ?? null);
    const error = outcome.status === "settled" ? null : outcome.error;
    return this.#move(id, "settling", { status: outcome.status, transaction, error, updatedAt: at });
  }
  async get(id: string): Promise<PaymentRecord | undefined> {
    return this.#rows.get(id);
  }
  async pending(): Promise<{ count: number; soonestValidBefore: number | null }> {
    const accepted = [...this.#rows.values()].filter((r) => r.status === "accepted");
    return { count: accepted.length, soonestValidBefore: accepted.length ? Math.min(...accepted.map((r) => r.validBefore)) : null };
  }
  async failedSince(network: string, payer: string, error: string, since: number): Promise<boolean> {
    for (const r of this.#rows.values())
      if (r.payer === payer && r.network === network && r.status === "failed" && r.error === error && r.updatedAt >= since) return true;
    return false;
  }

  #move(id: string, from: PaymentRecord["status"], change: Partial<PaymentRecord>): boolean {
    const row = this.#rows.get(id);
    if (row?.status !== from) return false;
    this.#rows.set(id, { ...row, ...change });
    return true;
  }
}

function byDeadline(a: PaymentRecord, b: PaymentRecord): number {
  return a.validBefore - b.validBefore || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
