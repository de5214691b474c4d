import type { CreditStore } from "../../core/payments/credit.js";
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

/**
 * PaymentLedger in this process's memory: for core unit tests and the contract suite, and the
 * always empty ledger of an amnesia server (pricing refuses amnesia: a payment must outlive the
 * process that took it), so its receipt routes answer with nothing.
 */
export class MemoryPaymentLedger implements PaymentLedger {
  readonly #rows = new Map<string, PaymentRecord>();
  readonly #keys = new Set<string>();
  readonly #credit: Pick<CreditStore, "add"> | undefined;

  /** `credit`: the balances a top-up accepted here adds to (the memory credit beside it), if top-ups are taken. */
  constructor(credit?: Pick<CreditStore, "add">) {
    this.#credit = credit;
  }

  async reserve(p: NewPayment): Promise<boolean> {
    if (this.#keys.has(key(p))) return false;
    this.#insert(p);
    return true;
  }
  // One process, no await between the sums and the insert: nothing else runs in between.
  async reserveWithin(p: NewPayment, caps: readonly SpendCap[]): Promise<CappedReservation> {
    if (this.#keys.has(key(p))) return { kind: "replayed" };
    for (const [index, c] of caps.entries()) {
      const spent = p.keyId === null ? 0 : this.#spent(p.keyId, c.since);
      if (spent + p.amount > c.cap) return { kind: "capped", index, spent };
    }
    this.#insert(p);
    return { kind: "reserved" };
  }
  async acceptTopup(id: string, credit: TopupCredit, at: number): Promise<number | undefined> {
    if (!this.#credit) throw new Error("this memory ledger keeps no relay credit");
    if (this.#rows.get(id)?.status !== "reserved") return undefined;
    this.#move(id, "reserved", { status: "accepted", updatedAt: at });
    return this.#credit.add(credit.userId, credit.amount, credit.lowLine, at);
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

  async list(f: PaymentFilter): Promise<PaymentRecord[]> {
    const after = f.after;
    return [...this.#rows.values()]
      .filter(
        (r) =>
          (f.userId === undefined || r.userId === f.userId) &&
          (f.golemId === undefined || r.golemId === f.golemId) &&
          (f.status === undefined || r.status === f.status) &&
          (f.from === undefined || r.createdAt >= f.from) &&
          (f.to === undefined || r.createdAt < f.to) &&
          (after === undefined || r.createdAt > after.createdAt || (r.createdAt === after.createdAt && r.id > after.id)),
      )
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, Math.max(0, f.limit));
  }
  async summary(from: number, to: number, userId?: string): Promise<PaymentSummaryRow[]> {
    const cells = new Map<string, { status: PaymentRecord["status"]; operation: string; amount: number; count: number }>();
    for (const r of this.#rows.values()) {
      if (r.createdAt < from || r.createdAt >= to || (userId !== undefined && r.userId !== userId)) continue;
      const key = `${r.status}\u0000${r.operation}`;
      const cell = cells.get(key) ?? { status: r.status, operation: r.operation, amount: 0, count: 0 };
      cell.amount += r.amount;
      cell.count++;
      cells.set(key, cell);
    }
    return [...cells.values()].sort((a, b) => cmp(a.status, b.status) || cmp(a.operation, b.operation));
  }
  async spent(keyId: string, since: number): Promise<number> {
    return this.#spent(keyId, since);
  }

  #insert(p: NewPayment): void {
    this.#keys.add(key(p));
    this.#rows.set(p.id, { ...p, status: "reserved", transaction: null, error: null, attempts: 0, updatedAt: p.createdAt });
  }

  #spent(keyId: string, since: number): number {
    let n = 0;
    for (const r of this.#rows.values())
      if (r.keyId === keyId && r.createdAt >= since && r.status !== "voided" && r.status !== "failed") n += r.amount;
    return n;
  }

  #move(id: string, from: PaymentRecord["status"], change: Partial<PaymentRecord>): boolean {
    const row = this.#rows.get(id);
    if (row?.status !== from) return false;
    this.#rows.set(id, { ...row, ...change });
    return true;
  }
}

function key(p: NewPayment): string {
  return `${p.network}\u0000${p.asset}\u0000${p.payer}\u0000${p.nonce}`;
}

function byDeadline(a: PaymentRecord, b: PaymentRecord): number {
  return a.validBefore - b.validBefore || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
