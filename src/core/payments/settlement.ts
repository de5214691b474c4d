import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { Clock } from "../platform/clock.js";
import { type Facilitator, FacilitatorUnavailable } from "./facilitator.js";
import type { PaymentLedger, PaymentRecord, SettlementOutcome } from "./ledger.js";
import { FUNDS_FAILURE } from "./payment-gate.js";

/** How settlement batches (STYX_SETTLE_BATCH, STYX_SETTLE_INTERVAL; SPEC §11.3). */
export interface SettlementOptions {
  /** Accepted payments that start a batch at once, and the most one batch claims (100). */
  readonly batch: number;
  /** Longest an accepted payment waits for a batch, ms (60 s). */
  readonly intervalMs: number;
  /** A payment whose authorization expires within this many ms starts a batch (60 s). */
  readonly deadlineMs?: number;
  /** `/settle` calls in flight at once (8). */
  readonly concurrency?: number;
  /** Tries before an unanswered settlement fails for good (5). */
  readonly maxAttempts?: number;
}

/** What one run did. */
export interface SettlementReport {
  readonly settled: number;
  readonly failed: number;
  readonly retried: number;
  /** Settling rows found at start and resent (a batch cut short). */
  readonly resent: number;
}

/** Hooks for what follows an outcome (events, audit, metrics); they must not throw. */
export interface SettlementHooks {
  /** A payment failed for good: announce it (`styx:payment:failed`), take back what it bought. */
  failed?(payment: PaymentRecord, reason: string): Promise<void> | void;
  /** A payment settled (what it bought becomes final: a marketplace purchase becomes payable). */
  settled?(payment: PaymentRecord): Promise<void> | void;
  /** Each resolved attempt, by outcome. */
  outcome?(outcome: "settled" | "failed" | "retry"): void;
  /** One call per batch that settled anything (one audit record per batch). */
  batch?(report: SettlementReport, ids: readonly string[]): Promise<void> | void;
}

/** x402's reasons that mean the payer's balance did not cover the payment (the 24 h block). */
const FUNDS_REASONS = new Set(["insufficient_funds", "invalid_exact_evm_insufficient_balance"]);
/** The reason a facilitator gives for an authorization whose nonce is spent on chain. */
const NONCE_USED = new Set(["invalid_exact_evm_nonce_already_used", "nonce_already_used"]);

/**
 * The settlement task of SPEC §11.3 (run by the leader). A run is due when `batch` payments are
 * accepted, when the oldest has waited `intervalMs`, or when an authorization expires within
 * `deadlineMs`. Rows are claimed by the ledger's one atomic accepted → settling update, so no row
 * is sent twice at once, and nothing but a settling row is ever sent: never a settled, voided or
 * failed one. Each is settled through the facilitator, `concurrency` at a time: success → settled;
 * a verdict against it → failed (for funds: the payer is blocked 24 h by the gate); no answer →
 * back to accepted for another try, failed after `maxAttempts`. The first run of a process resends
 * rows left in settling by a crash, expired or not (it may have gone through before it expired): "nonce
 * already used" then means it was settled (so it does on any try after the first, which may follow an
 * unanswered one that went through); the facilitator's refusal of an expired one fails it.
 */
export class Settlement {
  readonly #o: Required<SettlementOptions>;
  readonly #deps: { ledger: PaymentLedger; facilitator: Facilitator; clock: Clock; hooks?: SettlementHooks };
  #recovered = false;
  #lastRun: number;

  constructor(opts: SettlementOptions, deps: { ledger: PaymentLedger; facilitator: Facilitator; clock: Clock; hooks?: SettlementHooks }) {
    this.#o = { deadlineMs: 60_000, concurrency: 8, maxAttempts: 5, ...opts };
    this.#deps = deps;
    this.#lastRun = deps.clock.now();
  }

  /** Whether a batch is due now (see the class comment). */
  async due(): Promise<boolean> {
    const { count, soonestValidBefore } = await this.#deps.ledger.pending();
    if (count === 0) return false;
    const now = this.#deps.clock.now();
    if (count >= this.#o.batch || now - this.#lastRun >= this.#o.intervalMs) return true;
    return soonestValidBefore !== null && soonestValidBefore * 1000 - now < this.#o.deadlineMs;
  }

  /** The task's tick: resend what a crash left (first run), then one batch if due. */
  async tick(): Promise<SettlementReport> {
    const resent = this.#recovered ? emptyReport() : await this.recover();
    this.#recovered = true;
    if (!(await this.due())) return resent;
    const batch = await this.run();
    return { ...sum(resent, batch), resent: resent.resent };
  }

  /** Resends rows left in settling (at start, before any new claim). */
  async recover(): Promise<SettlementReport> {
    const rows = await this.#deps.ledger.settling(10_000);
    const report = await this.#settleAll(rows, true);
    return { ...report, resent: rows.length };
  }

  /** Claims and settles one batch, now. */
  async run(): Promise<SettlementReport> {
    this.#lastRun = this.#deps.clock.now();
    const rows = await this.#deps.ledger.claim(this.#o.batch, this.#lastRun);
    return this.#settleAll(rows, false);
  }

  async #settleAll(rows: readonly PaymentRecord[], resend: boolean): Promise<SettlementReport> {
    const counts = { settled: 0, failed: 0, retried: 0, resent: 0 };
    const queue = [...rows];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const outcome = await this.#settle(row, resend);
        const changed = await this.#deps.ledger.resolve(row.id, outcome, this.#deps.clock.now());
        if (!changed) continue;
        const kind = outcome.status === "accepted" ? "retry" : outcome.status;
        counts[kind === "retry" ? "retried" : kind]++;
        this.#deps.hooks?.outcome?.(kind);
        if (outcome.status === "failed") await this.#deps.hooks?.failed?.(row, outcome.error);
        if (outcome.status === "settled") await this.#deps.hooks?.settled?.(row);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, rows.length) }, worker));
    if (rows.length > 0)
      await this.#deps.hooks?.batch?.(
        counts,
        rows.map((r) => r.id),
      );
    return counts;
  }

  /** One `/settle` for a settling row, and what the row becomes. */
  async #settle(row: PaymentRecord, resend: boolean): Promise<SettlementOutcome> {
    if (row.validBefore * 1000 <= this.#deps.clock.now() && !resend) return { status: "failed", error: "expired" };
    try {
      const payload = JSON.parse(row.payload) as PaymentPayload;
      const requirements = JSON.parse(row.requirements) as PaymentRequirements;
      const r = await this.#deps.facilitator.settle(payload, requirements);
      if (r.success) return { status: "settled", transaction: r.transaction };
      const reason = r.errorReason ?? "settle_failed";
      // A try that may follow one that went through (a resend, or any try after the first).
      if (NONCE_USED.has(reason) && (resend || row.attempts > 1)) return { status: "settled", transaction: r.transaction ?? "" };
      if (FUNDS_REASONS.has(reason)) return { status: "failed", error: FUNDS_FAILURE };
      return { status: "failed", error: reason };
    } catch (err) {
      // Anything but an answer leaves the row to another try: a row must never stay settling while its process runs.
      const error = err instanceof FacilitatorUnavailable ? "facilitator_unavailable" : "settle_error";
      if (row.validBefore * 1000 <= this.#deps.clock.now()) return { status: "failed", error: "expired" };
      if (row.attempts >= this.#o.maxAttempts) return { status: "failed", error };
      return { status: "accepted", error };
    }
  }
}

function emptyReport(): SettlementReport {
  return { settled: 0, failed: 0, retried: 0, resent: 0 };
}

function sum(a: SettlementReport, b: SettlementReport): SettlementReport {
  return { settled: a.settled + b.settled, failed: a.failed + b.failed, retried: a.retried + b.retried, resent: a.resent + b.resent };
}
