import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from "@x402/core/types";

/**
 * The x402 facilitator Styx uses (SPEC §11.2–11.3): `/verify` for what cannot be checked
 * offline (smart-wallet signatures, or everything under STYX_X402_VERIFY=facilitator) and
 * `/settle` for every accepted payment. Not ours: its adapter is `HTTPFacilitatorClient`.
 * Obligations: a refusal by the facilitator is an answer (`isValid: false`, `success: false`
 * with its reason); a facilitator that cannot be reached, times out or answers garbage throws
 * `FacilitatorUnavailable` — for a settle, an indeterminate outcome (it may have settled).
 */
export interface Facilitator {
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse>;
  settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse>;
}

/** The facilitator could not give an answer (network, timeout, 5xx without a verdict, bad JSON). */
export class FacilitatorUnavailable extends Error {
  constructor(op: "verify" | "settle", cause: unknown) {
    super(`facilitator ${op} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "FacilitatorUnavailable";
  }
}
