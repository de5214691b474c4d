import { X402TransferSignatures } from "../adapters/evm/x402-transfer-signatures.js";
import { X402Facilitator } from "../adapters/http/x402-facilitator.js";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { userStream } from "../core/fabric/streams.js";
import type { SignatureVerifier } from "../core/identity/signature-verifier.js";
import { CreditAccounts, type CreditMeter, type CreditStore, eventPrice, type SpendLimitStore } from "../core/payments/credit.js";
import type { PaymentLedger, PaymentRecord } from "../core/payments/ledger.js";
import { atomicToUsd } from "../core/payments/money.js";
import { PaymentGate } from "../core/payments/payment-gate.js";
import { Settlement } from "../core/payments/settlement.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { Clock } from "../core/platform/clock.js";
import type { Metrics } from "../server/metrics.js";
import type { Scheduler } from "../tasks/scheduler.js";
import { OperatorError } from "./operator-error.js";

/** The background task that settles accepted payments (the leader's). */
export const PAYMENT_TASKS = { settlement: "payment-settlement" } as const;

/** What pricing adds to a Styx: the gate of priced requests, the settlement task, the facilitator both use. */
export interface Payments {
  readonly gate: PaymentGate;
  readonly settlement: Settlement;
  readonly facilitator: X402Facilitator;
  readonly ledger: PaymentLedger;
  /** Relay credit (SPEC §11.4) and this process's meter of it (the socket's relayed events draw from it). */
  readonly credit: CreditAccounts;
  readonly meter: CreditMeter;
  /** The keys' spend limits (set by the admin routes). */
  readonly limits: SpendLimitStore;
  /** Adds a listener of settlement outcomes (a payment settled or failed for good), e.g. the marketplace's purchase reconciliation. */
  onOutcome(listener: PaymentOutcomeListener): void;
}

/** Told each payment that settled or failed for good; it must not throw (errors are logged). */
export type PaymentOutcomeListener = (payment: PaymentRecord, outcome: "settled" | "failed") => Promise<void>;

/**
 * Pricing (SPEC §11), or undefined while STYX_PRICING=0. The gate checks payments offline with
 * the server's signature verifier over @x402/evm's typed data, and through the facilitator
 * (@x402/core's HTTPFacilitatorClient at STYX_X402_FACILITATOR_URL) when it must. Settlement
 * is a leader task that looks every few seconds whether a batch is due (Settlement.due); a
 * failed payment is announced as `styx:payment:failed` on its user's stream, and each batch
 * leaves one `payment.settle` audit record.
 */
export function buildPayments(deps: {
  config: Config;
  ledger: PaymentLedger | undefined;
  credit: (CreditStore & SpendLimitStore) | undefined;
  verifier: SignatureVerifier;
  metrics: Metrics;
  clock: Clock;
  bus: Pick<EventBus, "publish">;
  audit: Pick<AuditLog, "append">;
  scheduler: Pick<Scheduler, "add">;
  warn: (msg: string, err?: unknown) => void;
}): Payments | undefined {
  const x = deps.config.x402;
  if (!x) return undefined;
  // load.ts refuses pricing under amnesia; a store without a ledger would be the same mistake.
  if (!deps.ledger) throw new OperatorError("STYX_PRICING=1 needs a payments ledger: a data dir (micronode) or PostgreSQL (macronode).");
  const ledger = deps.ledger;
  if (!deps.credit) throw new OperatorError("STYX_PRICING=1 needs a credit store: a data dir (micronode) or PostgreSQL (macronode).");
  const store = deps.credit;
  const credit = new CreditAccounts({
    store,
    eventPrice: eventPrice(x.prices.event_relay_per_1000),
    lowEvents: x.creditLowEvents,
    now: () => deps.clock.now(),
  });
  const meter = credit.meter({
    low: async (userId, balance) => {
      try {
        await deps.bus.publish({
          stream: userStream(userId),
          channel: "styx:credit:low",
          payload: { balance_usd: atomicToUsd(Math.max(0, balance)), balance_events: Math.floor(Math.max(0, balance) / credit.eventPrice) },
        });
      } catch (err) {
        deps.warn(`styx:credit:low of ${userId} could not be published`, err);
      }
    },
  });
  const { metrics } = deps;
  const facilitator = new X402Facilitator({
    url: x.facilitatorUrl,
    token: x.facilitatorToken,
    observe: (op, outcome) => metrics.facilitatorRequests.inc({ op, outcome }),
  });
  const gate = new PaymentGate(
    {
      network: x.network,
      payTo: x.payTo,
      prices: x.prices,
      maxTimeoutSeconds: x.maxTimeoutSeconds,
      minValiditySeconds: x.minValiditySeconds,
      verify: x.verify,
    },
    { ledger, facilitator, signatures: new X402TransferSignatures(deps.verifier), clock: deps.clock, limits: store },
  );
  const listeners: PaymentOutcomeListener[] = [];
  const tell = async (p: PaymentRecord, outcome: "settled" | "failed") => {
    for (const l of listeners) {
      try {
        await l(p, outcome);
      } catch (err) {
        deps.warn(`a ${outcome} listener of payment ${p.id} failed`, err);
      }
    }
  };
  const settlement = new Settlement(
    { batch: x.settleBatch, intervalMs: x.settleIntervalMs },
    {
      ledger,
      facilitator,
      clock: deps.clock,
      hooks: {
        outcome: (outcome) => metrics.settlements.inc({ outcome }),
        settled: (p) => tell(p, "settled"),
        failed: async (p, reason) => {
          await tell(p, "failed");
          if (!p.userId) return;
          // A top-up that did not settle bought nothing (SPEC §11.4).
          if (p.purpose === "topup")
            await credit.takeBack(p.userId, p.amount).catch((err) => deps.warn(`the failed top-up ${p.id} could not be taken back`, err));
          try {
            await deps.bus.publish({
              stream: userStream(p.userId),
              channel: "styx:payment:failed",
              payload: { payment_id: p.id, operation: p.operation, amount_usd: atomicToUsd(p.amount), reason },
            });
          } catch (err) {
            deps.warn(`styx:payment:failed of ${p.id} could not be published`, err);
          }
        },
        batch: async (report, ids) => {
          try {
            await deps.audit.append({ actor: "styx", action: "payment.settle", target: "", details: { ...report, payments: ids.length } });
          } catch (err) {
            deps.warn("the settlement batch's audit record could not be written", err);
          }
        },
      },
    },
  );
  // A scrape must not fail with the database: the last count read stands in while it is down.
  let pending = 0;
  metrics.gauge("styx_settlement_pending", "Accepted payments waiting for settlement.", async () => {
    try {
      pending = (await ledger.pending()).count;
    } catch {
      // kept: the previous count
    }
    return pending;
  });
  deps.scheduler.add({ name: PAYMENT_TASKS.settlement, everyMs: Math.min(5000, x.settleIntervalMs), run: () => settlement.tick() });
  return { gate, settlement, facilitator, ledger, credit, meter, limits: store, onOutcome: (l) => void listeners.push(l) };
}
