import type { EventBus } from "../fabric/event-bus.js";
import { userStream } from "../fabric/streams.js";
import { isGolemCredential } from "../identity/principal.js";
import type { PaymentLedger } from "../payments/ledger.js";
import type { AuditLog } from "../platform/audit.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import type { UserCaller } from "./marketplace-service.js";
import type { MarketplaceStore } from "./store.js";
import type { Payout, Purchase, SellerTotals } from "./types.js";

/** STYX_PAYOUT_THRESHOLD, STYX_PAYOUT_INTERVAL, STYX_MARKETPLACE_RETENTION. */
export interface PayoutSettings {
  /** Payable atomic units at which a seller's payout is made without waiting for the interval. */
  readonly payoutThreshold: number;
  readonly payoutIntervalMs: number;
  /** How long an ended listing's ciphertext and escrow wrap stay for buyers. */
  readonly retentionMs: number;
}

/** What the seller reads: money by state, payouts and sales (never a buyer). */
export interface SellerLedger {
  readonly totals: SellerTotals;
  readonly payouts: readonly Payout[];
  readonly sales: readonly Purchase[];
}

/** Dependencies of the payout ledger. */
export interface PayoutLedgerDeps {
  readonly store: MarketplaceStore;
  /** Where a purchase's payment status is read back (reconciliation). */
  readonly payments: Pick<PaymentLedger, "get">;
  readonly audit: Pick<AuditLog, "append">;
  readonly bus: Pick<EventBus, "publish">;
  readonly clock: Clock;
  readonly settings: PayoutSettings;
  readonly observe?: { purchase(outcome: "settled" | "revoked"): void } | undefined;
  /** Gives back the seller's reference on a purged listing's ciphertext. */
  readonly release?: ((userId: string, cid: string) => Promise<void>) | undefined;
  readonly warn?: ((msg: string, err?: unknown) => void) | undefined;
}

/** Rows one task run handles at most. */
const BATCH = 500;

/**
 * The money side of the marketplace (SPEC §16.3). A seller is owed each purchase's price: pending
 * while its payment is accepted, payable once settled, void when it failed (the purchase is
 * revoked). Settlement outcomes arrive as they happen (`onPayment`) and are reconciled again from
 * the payments ledger by `reconcile`, so a crash between the two loses nothing. The payout task
 * makes one due payout per (seller, address) — at once past the threshold, otherwise each
 * interval; the operator pays it and records the transaction once (audited). The expiry and
 * purge tasks end listings and, after the retention, drop their escrow wrap and ciphertext.
 * Invariants: paid = price + fee; per seller pending + payable + due + paid = Σ price of
 * unrevoked purchases; nothing payable before its payment settled.
 */
export class PayoutLedger {
  readonly #d: PayoutLedgerDeps;
  #lastPayouts: number;

  constructor(deps: PayoutLedgerDeps) {
    this.#d = deps;
    this.#lastPayouts = deps.clock.now();
  }

  /** A purchase payment's settlement outcome: settled → payable; failed or voided → revoked. Other payments: nothing. */
  async onPayment(paymentId: string, status: "settled" | "failed" | "voided"): Promise<void> {
    const at = this.#d.clock.now();
    if (status === "settled") {
      if (await this.#d.store.settlePurchase(paymentId, at)) this.#d.observe?.purchase("settled");
    } else if (await this.#d.store.revokePurchase(paymentId, at)) this.#d.observe?.purchase("revoked");
  }

  /** Pending purchases checked against their payments (what a missed outcome left behind). */
  async reconcile(): Promise<{ settled: number; revoked: number }> {
    let settled = 0;
    let revoked = 0;
    for (const p of await this.#d.store.pendingPurchases(BATCH)) {
      const pay = await this.#d.payments.get(p.paymentId);
      const status = pay?.status;
      if (status === "settled") {
        await this.onPayment(p.paymentId, "settled");
        settled++;
      } else if (status === "failed" || status === "voided" || pay === undefined) {
        await this.onPayment(p.paymentId, status === "failed" ? "failed" : "voided");
        revoked++;
      }
    }
    return { settled, revoked };
  }

  /** The payout task: reconcile, then one due payout per (seller, address) past the threshold, or for all once the interval passed. */
  async runPayouts(): Promise<Payout[]> {
    await this.reconcile();
    const now = this.#d.clock.now();
    const all = now - this.#lastPayouts >= this.#d.settings.payoutIntervalMs;
    if (all) this.#lastPayouts = now;
    const made: Payout[] = [];
    for (const p of await this.#d.store.payables()) {
      if (!all && p.amount < this.#d.settings.payoutThreshold) continue;
      const payout = await this.#d.store.createPayout(newId("pout"), p.sellerUserId, p.address, now);
      if (payout) made.push(payout);
    }
    return made;
  }

  /** The expiry task: active listings past their TTL become expired, announced to their seller. */
  async expire(): Promise<number> {
    const ended = await this.#d.store.expireListings(this.#d.clock.now(), BATCH);
    for (const l of ended) {
      try {
        await this.#d.bus.publish({
          stream: userStream(l.userId),
          channel: "styx:marketplace:expired",
          payload: { id: l.id, title: l.title },
        });
      } catch (err) {
        this.#d.warn?.("styx:marketplace:expired could not be published", err);
      }
    }
    return ended.length;
  }

  /** The purge task: listings ended longer than the retention lose their escrow wrap and ciphertext reference. */
  async purge(): Promise<number> {
    const now = this.#d.clock.now();
    const purged = await this.#d.store.purgeListings(now - this.#d.settings.retentionMs, now, BATCH);
    for (const l of purged) await this.#d.release?.(l.userId, l.contentCid);
    return purged.length;
  }

  /** The seller's view (owner credential). */
  async seller(caller: UserCaller, limit: number): Promise<SellerLedger> {
    if (isGolemCredential(caller)) throw new StyxError("STYX_AUTH_FORBIDDEN", "Payouts and sales need an owner credential.");
    const s = this.#d.store;
    return {
      totals: await s.sellerTotals(caller.userId),
      payouts: await s.payouts({ sellerUserId: caller.userId, limit }),
      sales: await s.sales(caller.userId, limit),
    };
  }

  /** The operator's list of payouts. */
  payouts(status: "due" | "paid" | undefined, limit: number): Promise<Payout[]> {
    return this.#d.store.payouts({ status, limit });
  }

  /** The operator paid a payout: recorded once with its transaction (audited); 404 unknown, 409 paid before. */
  async markPaid(id: string, transaction: string, ctx: { requestId?: string; ip?: string } = {}): Promise<Payout> {
    const r = await this.#d.store.markPaid(id, transaction, this.#d.clock.now());
    if (r === undefined) throw new StyxError("STYX_NOT_FOUND", "No such payout.");
    if (r === false) throw new StyxError("STYX_CONFLICT", "This payout was recorded as paid before.");
    await this.#d.audit.append({
      actor: "admin",
      action: "marketplace.payout.paid",
      target: id,
      details: { transaction, amount: r.amount },
      ...ctx,
    });
    return r;
  }
}
