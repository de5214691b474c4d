import type { PaymentRequired, PaymentRequirements, SettleResponse } from "@x402/core/types";
import type { PaymentRequiredV1, PaymentRequirementsV1 } from "@x402/core/types/v1";
import type { SignatureCheck } from "../identity/signature-verifier.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { checkSpendLimit, type SpendLimitStore, type SpendWindow, spendCaps, spendLimitError } from "./credit.js";
import { type Facilitator, FacilitatorUnavailable } from "./facilitator.js";
import type { PaymentLedger, PaymentPurpose } from "./ledger.js";
import { atomicToUsd, type ChargedOperation, type PriceTable } from "./money.js";
import type { PaymentNetwork } from "./networks.js";
import type { PaymentAttempt, TransferAuthorization } from "./payload.js";

/** Offline check of an EIP-3009 `TransferWithAuthorization` signature (65 bytes, EIP-712) on `network`'s token. */
export interface TransferSignatures {
  check(network: PaymentNetwork, authorization: TransferAuthorization, signature: string): Promise<SignatureCheck>;
}

/** How payments are checked and offered (STYX_X402_*, STYX_PRICES). */
export interface PaymentSettings {
  readonly network: PaymentNetwork;
  /** STYX_X402_PAY_TO: the address paid. */
  readonly payTo: string;
  readonly prices: PriceTable;
  /** STYX_X402_MAX_TIMEOUT, seconds: offered as `maxTimeoutSeconds`. */
  readonly maxTimeoutSeconds: number;
  /** STYX_X402_MIN_VALIDITY, seconds: how long an authorization must still be valid when it arrives. */
  readonly minValiditySeconds: number;
  /** STYX_X402_VERIFY: `local` (offline for 65-byte signatures) or `facilitator` (every payment to /verify). */
  readonly verify: "local" | "facilitator";
}

/** What a request pays for, and who pays through it. */
export interface PaidRequest {
  readonly operation: ChargedOperation;
  /** How many of it (a batch write: its entries); the price is per unit. */
  readonly units: number;
  readonly purpose: PaymentPurpose;
  /** The resource URL the offer names. */
  readonly url: string;
  readonly userId: string | null;
  readonly keyId: string | null;
  readonly golemId: string | null;
  /** A price set per request (a marketplace purchase: price + fee), atomic units; else the operation's price × units. */
  readonly amount?: number | undefined;
}

/** The offers of a 402: x402 v2 (the `PAYMENT-REQUIRED` header) and v1 (fields of the body). */
export interface Offer {
  readonly amount: number;
  readonly v2: PaymentRequired;
  readonly v1: PaymentRequiredV1;
}

/** A payment reserved in the ledger for a request that now runs. */
export interface AdmittedPayment {
  readonly id: string;
  readonly version: 1 | 2;
  readonly network: string;
  readonly payer: string;
  readonly amount: number;
}

/** What the gate works with; `limits` (the keys' spend limits) may be left out where none are kept. */
interface GateDeps {
  readonly ledger: PaymentLedger;
  readonly facilitator: Facilitator;
  readonly signatures: TransferSignatures;
  readonly clock: Clock;
  readonly limits?: SpendLimitStore | undefined;
}

/** The outcome of checking a payment: admitted, or refused with x402's reason (a 402 with a fresh offer). */
export type Admission =
  | { readonly kind: "admitted"; readonly payment: AdmittedPayment }
  | { readonly kind: "invalid"; readonly reason: string };

/** x402's reasons, as @x402/evm's facilitator names them, plus Styx's `payer_blocked`. */
export const REASONS = {
  scheme: "invalid_exact_evm_scheme",
  network: "invalid_exact_evm_network_mismatch",
  requirements: "invalid_payment_requirements",
  recipient: "invalid_exact_evm_recipient_mismatch",
  value: "invalid_exact_evm_payload_authorization_value_mismatch",
  validAfter: "invalid_exact_evm_payload_authorization_valid_after",
  validBefore: "invalid_exact_evm_payload_authorization_valid_before",
  signature: "invalid_exact_evm_signature",
  payerBlocked: "payer_blocked",
} as const;

/** The settlement error that blocks a payer (their funds did not cover a payment they signed). */
export const FUNDS_FAILURE = "insufficient_funds";
/** How long a payer whose settlement failed for funds is refused (SPEC §11.2 step 3). */
export const PAYER_BLOCK_MS = 24 * 3600 * 1000;

/**
 * The checks of SPEC §11.2, in order, for one paid request: the offer accepted (1), the
 * authorization's recipient, value and validity window (2), its signature — offline for a
 * 65-byte one, else (or under STYX_X402_VERIFY=facilitator) the facilitator's `/verify` — and
 * the payer's 24 h block (3), then the authorization reserved under the ledger's unique
 * (network, asset, payer, nonce) (5: a second use anywhere → 409 STYX_PAYMENT_REPLAYED).
 * Step 4 (the key's spend limits, §11.4) is `checkSpendLimit`, which the adapter runs before it
 * asks for any payment (SPEC §11.4: 403 before any 402). The request's answer then accepts or voids it.
 */
export class PaymentGate {
  readonly #s: PaymentSettings;
  readonly #deps: GateDeps;

  constructor(settings: PaymentSettings, deps: GateDeps) {
    this.#s = settings;
    this.#deps = deps;
  }

  /** The price of `units` of `operation` (a batch of entries: one unit each; a top-up: its atomic units), atomic units. */
  price(operation: ChargedOperation, units = 1): number {
    if (operation === "purchase") throw new Error("a purchase is charged its own amount");
    return operation === "credit_topup" ? units : this.#s.prices[operation] * units;
  }

  /** SPEC §11.2 step 4, checked before any 402: the key's spend limits would hold with this price, else 403 STYX_SPEND_LIMIT. */
  async checkSpendLimit(keyId: string | null, operation: ChargedOperation, units = 1, amount?: number): Promise<void> {
    const limits = this.#deps.limits;
    if (!limits) return;
    await checkSpendLimit({ limits, ledger: this.#deps.ledger }, keyId, this.#amount(operation, units, amount), this.#deps.clock.now());
  }

  /** What a charge costs: `amount` when the request sets one (a purchase must), else the operation's price × units. */
  #amount(operation: ChargedOperation, units: number, amount: number | undefined): number {
    return amount ?? this.price(operation, units);
  }

  /** The v2 requirements of `operation` (what `accepted` must equal). */
  requirements(operation: ChargedOperation, units = 1, amount?: number): PaymentRequirements {
    const n = this.#s.network;
    return {
      scheme: "exact",
      network: n.id as PaymentRequirements["network"],
      amount: String(this.#amount(operation, units, amount)),
      asset: n.asset,
      payTo: this.#s.payTo,
      maxTimeoutSeconds: this.#s.maxTimeoutSeconds,
      extra: { name: n.assetName, version: n.assetVersion },
    };
  }

  /** The same offer in x402 v1's words (`maxAmountRequired`, the v1 network name, the resource inside). */
  requirementsV1(operation: ChargedOperation, url: string, units = 1, amount?: number): PaymentRequirementsV1 {
    const n = this.#s.network;
    return {
      scheme: "exact",
      network: n.v1Name as PaymentRequirementsV1["network"],
      maxAmountRequired: String(this.#amount(operation, units, amount)),
      resource: url,
      description: describe(operation),
      mimeType: "application/json",
      outputSchema: {},
      payTo: this.#s.payTo,
      maxTimeoutSeconds: this.#s.maxTimeoutSeconds,
      asset: n.asset,
      extra: { name: n.assetName, version: n.assetVersion },
    };
  }

  /** The 402's offers for `operation` at `url`; `error` is x402's words for why (default "payment required"). */
  offer(operation: ChargedOperation, url: string, units = 1, error = "payment required", amount?: number): Offer {
    return {
      amount: this.#amount(operation, units, amount),
      v2: {
        x402Version: 2,
        error,
        resource: { url, description: describe(operation), mimeType: "application/json" },
        accepts: [this.requirements(operation, units, amount)],
      },
      v1: { x402Version: 1, error, accepts: [this.requirementsV1(operation, url, units, amount)] },
    };
  }

  /**
   * Checks `attempt` for `request` (SPEC §11.2 steps 1–3, 5). Refusals the client can fix by
   * paying again answer `invalid`; a replayed authorization throws 409 STYX_PAYMENT_REPLAYED, a
   * facilitator that was needed and did not answer 503 STYX_FACILITATOR_UNAVAILABLE.
   */
  async admit(request: PaidRequest, attempt: PaymentAttempt): Promise<Admission> {
    const net = this.#s.network;
    const invalid = (reason: string): Admission => ({ kind: "invalid", reason });
    // 1. The offer accepted.
    if (attempt.scheme !== "exact") return invalid(REASONS.scheme);
    if (attempt.network !== (attempt.version === 2 ? net.id : net.v1Name)) return invalid(REASONS.network);
    const requirements = this.requirements(request.operation, request.units, request.amount);
    if (attempt.accepted && !matchesOffer(attempt.accepted, requirements)) return invalid(REASONS.requirements);
    // 2. Recipient, value, validity window.
    const a = attempt.authorization;
    const nowS = BigInt(Math.floor(this.#deps.clock.now() / 1000));
    if (a.to !== this.#s.payTo.toLowerCase()) return invalid(REASONS.recipient);
    if (a.value !== BigInt(requirements.amount)) return invalid(REASONS.value);
    if (a.validAfter > nowS) return invalid(REASONS.validAfter);
    if (a.validBefore < nowS + BigInt(this.#s.minValiditySeconds)) return invalid(REASONS.validBefore);
    // 3. The signature: offline for an ordinary wallet, the facilitator for a smart wallet (or all of them).
    const wire = attempt.version === 2 ? requirements : this.requirementsV1(request.operation, request.url, request.units, request.amount);
    const offline = this.#s.verify === "local" && attempt.signature.length === 132;
    if (offline) {
      if ((await this.#deps.signatures.check(net, a, attempt.signature)) !== "valid") return invalid(REASONS.signature);
    } else {
      const verdict = await this.#facilitatorVerify(attempt, wire);
      if (!verdict.isValid) return invalid(verdict.invalidReason ?? REASONS.signature);
    }
    const now = this.#deps.clock.now();
    if (await this.#deps.ledger.failedSince(net.id, a.from, FUNDS_FAILURE, now - PAYER_BLOCK_MS)) return invalid(REASONS.payerBlocked);
    // 5. Spent once, on every gateway, restarts included; and (4 again) within the key's spend
    // limits, counted in the same atomic step, so concurrent payments of one key never pass them.
    const id = newId("pay");
    const caps = await this.#caps(request.keyId, now);
    const reserved = await this.#deps.ledger.reserveWithin(
      {
        id,
        network: net.id,
        asset: net.asset.toLowerCase(),
        payer: a.from,
        nonce: a.nonce,
        amount: Number(a.value),
        operation: request.operation,
        purpose: request.purpose,
        userId: request.userId,
        keyId: request.keyId,
        golemId: request.golemId,
        payload: JSON.stringify(attempt.raw),
        requirements: JSON.stringify(wire),
        validBefore: Number(a.validBefore),
        createdAt: now,
      },
      caps,
    );
    if (reserved.kind === "capped") {
      const w = caps[reserved.index];
      if (w) throw spendLimitError(w, reserved.spent);
    }
    if (reserved.kind === "replayed")
      throw new StyxError("STYX_PAYMENT_REPLAYED", "This payment authorization was already used; sign a new one.", {
        details: { payer: a.from, nonce: a.nonce },
      });
    return { kind: "admitted", payment: { id, version: attempt.version, network: net.id, payer: a.from, amount: Number(a.value) } };
  }

  /** The key's spend limits as caps at `now` (none without a key, limits, or a limit store). */
  async #caps(keyId: string | null, now: number): Promise<SpendWindow[]> {
    const limits = this.#deps.limits;
    if (!limits || keyId === null) return [];
    const limit = await limits.getLimit(keyId);
    return limit ? spendCaps(limit, now) : [];
  }

  /**
   * The request's answer decides: `ok` (status < 400, not an idempotent replay) accepts the
   * payment for settlement and returns the `PAYMENT-RESPONSE` (v1: `X-PAYMENT-RESPONSE`) body;
   * otherwise it is voided — never settled, its nonce still spent — and nothing is returned.
   */
  async finish(payment: AdmittedPayment, ok: boolean): Promise<SettleResponse | undefined> {
    await this.#deps.ledger.finish(payment.id, ok ? "accepted" : "voided", this.#deps.clock.now());
    if (!ok) return undefined;
    return {
      success: true,
      transaction: "",
      network: (payment.version === 2 ? payment.network : this.#s.network.v1Name) as SettleResponse["network"],
      payer: payment.payer,
      amount: String(payment.amount),
      extensions: { styx: { payment_id: payment.id, status: "queued" } },
    };
  }

  /** SPEC §11.2's body details of a 402 for `operation`. */
  details(operation: ChargedOperation, units = 1, charged?: number): { operation: ChargedOperation; price_usd: string; amount: string } {
    const amount = this.#amount(operation, units, charged);
    return { operation, price_usd: atomicToUsd(amount), amount: String(amount) };
  }

  async #facilitatorVerify(attempt: PaymentAttempt, wire: PaymentRequirements | PaymentRequirementsV1) {
    try {
      // A v1 payment goes to the facilitator in v1's words (HTTPFacilitatorClient sends its x402Version).
      return await this.#deps.facilitator.verify(attempt.raw as never, wire as PaymentRequirements);
    } catch (err) {
      if (err instanceof FacilitatorUnavailable)
        throw new StyxError("STYX_FACILITATOR_UNAVAILABLE", undefined, {
          cause: err,
          retryAfterSeconds: 1,
          details: { retry_after_ms: 1000 },
        });
      throw err;
    }
  }
}

/** `styx query`, `styx entry write`: the offer's description. */
function describe(operation: ChargedOperation): string {
  return `styx ${operation.replace(/_/g, " ")}`;
}

/** Whether the client's `accepted` is our offer: every field equal (addresses in any case), its `extra` a superset of ours. */
function matchesOffer(accepted: Readonly<Record<string, unknown>>, offer: PaymentRequirements): boolean {
  const same = (a: unknown, b: string) => typeof a === "string" && a.toLowerCase() === b.toLowerCase();
  if (accepted.scheme !== offer.scheme || accepted.network !== offer.network || accepted.amount !== offer.amount) return false;
  if (!same(accepted.asset, offer.asset) || !same(accepted.payTo, offer.payTo)) return false;
  if (accepted.maxTimeoutSeconds !== offer.maxTimeoutSeconds) return false;
  const extra = accepted.extra;
  if (typeof extra !== "object" || extra === null || Array.isArray(extra)) return false;
  for (const [k, v] of Object.entries(offer.extra))
    if (!Object.hasOwn(extra, k) || (extra as Record<string, unknown>)[k] !== v) return false;
  for (const k of Object.keys(accepted)) if (!OFFER_FIELDS.has(k)) return false;
  return true;
}

const OFFER_FIELDS = new Set(["scheme", "network", "amount", "asset", "payTo", "maxTimeoutSeconds", "extra"]);
