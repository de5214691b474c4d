import type { CreditMeter } from "../../core/payments/credit.js";
import { StyxError } from "../../core/platform/errors.js";
import type { Metrics } from "../metrics.js";

/**
 * A socket message's price from relay credit (SPEC §11.4), counted: `charge` before the
 * publish (STYX_CREDIT_EXHAUSTED when none is left), `refund` when the publish then failed (only
 * relayed messages cost).
 */
export class RelayCharges {
  readonly #meter: Pick<CreditMeter, "spend" | "refund">;
  readonly #metrics: Metrics;

  constructor(meter: Pick<CreditMeter, "spend" | "refund">, metrics: Metrics) {
    this.#meter = meter;
    this.#metrics = metrics;
  }

  async charge(userId: string): Promise<void> {
    try {
      await this.#meter.spend(userId);
      this.#metrics.relayCredit.inc({ outcome: "charged" });
    } catch (err) {
      if (err instanceof StyxError && err.code === "STYX_CREDIT_EXHAUSTED") this.#metrics.relayCredit.inc({ outcome: "exhausted" });
      throw err;
    }
  }

  refund(userId: string): void {
    this.#meter.refund(userId);
    this.#metrics.relayCredit.inc({ outcome: "refunded" });
  }
}
