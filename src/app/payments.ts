import { X402TransferSignatures } from "../adapters/evm/x402-transfer-signatures.js";
import { X402Facilitator } from "../adapters/http/x402-facilitator.js";
import type { Config } from "../config/load.js";
import type { SignatureVerifier } from "../core/identity/signature-verifier.js";
import type { PaymentLedger } from "../core/payments/ledger.js";
import { PaymentGate } from "../core/payments/payment-gate.js";
import type { Clock } from "../core/platform/clock.js";
import type { Metrics } from "../server/metrics.js";
import { OperatorError } from "./operator-error.js";

/** What pricing adds to a Styx: the gate of priced requests and the facilitator it settles through. */
export interface Payments {
  readonly gate: PaymentGate;
  readonly facilitator: X402Facilitator;
  readonly ledger: PaymentLedger;
}

/**
 * Pricing (SPEC §11), or undefined while STYX_PRICING=0. The gate checks payments offline with
 * the server's signature verifier over @x402/evm's typed data, and through the facilitator
 * (@x402/core's HTTPFacilitatorClient at STYX_X402_FACILITATOR_URL) when it must.
 */
export function buildPayments(deps: {
  config: Config;
  ledger: PaymentLedger | undefined;
  verifier: SignatureVerifier;
  metrics: Metrics;
  clock: Clock;
}): Payments | undefined {
  const x = deps.config.x402;
  if (!x) return undefined;
  // load.ts refuses pricing under amnesia; a store without a ledger would be the same mistake.
  if (!deps.ledger) throw new OperatorError("STYX_PRICING=1 needs a payments ledger: a data dir (micronode) or PostgreSQL (macronode).");
  const facilitator = new X402Facilitator({
    url: x.facilitatorUrl,
    token: x.facilitatorToken,
    observe: (op, outcome) => deps.metrics.facilitatorRequests.inc({ op, outcome }),
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
    { ledger: deps.ledger, facilitator, signatures: new X402TransferSignatures(deps.verifier), clock: deps.clock },
  );
  return { gate, facilitator, ledger: deps.ledger };
}
