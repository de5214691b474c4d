import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from "@x402/core/types";
import { type Facilitator, FacilitatorUnavailable } from "../../core/payments/facilitator.js";

type Client = import("@x402/core/http").HTTPFacilitatorClient;

/** Options of the facilitator client. */
export interface X402FacilitatorOptions {
  /** STYX_X402_FACILITATOR_URL. */
  readonly url: string;
  /** STYX_X402_FACILITATOR_TOKEN: sent as a bearer token to /verify, /settle and /supported. */
  readonly token?: string | undefined;
  /** Per request, ms (default 10 s: a /verify holds a request open). */
  readonly timeoutMs?: number;
  /** Counts each call by op and outcome (styx_facilitator_requests_total). */
  readonly observe?: (op: "verify" | "settle", outcome: "ok" | "refused" | "unavailable") => void;
}

/**
 * The x402 facilitator through @x402/core's `HTTPFacilitatorClient` (loaded on first use). A
 * verdict is an answer even when the facilitator sends it with a 4xx (the client throws it as
 * VerifyError / SettleError: turned back into the response here); anything else — network,
 * timeout, 5xx without a verdict, invalid JSON — is `FacilitatorUnavailable`.
 */
export class X402Facilitator implements Facilitator {
  readonly #opts: X402FacilitatorOptions;
  #client: Promise<Client> | undefined;

  constructor(opts: X402FacilitatorOptions) {
    this.#opts = opts;
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    const client = await this.#load();
    try {
      const r = await client.verify(payload, requirements);
      this.#opts.observe?.("verify", r.isValid ? "ok" : "refused");
      return r;
    } catch (err) {
      const verdict = err as { name?: string; invalidReason?: string; payer?: string };
      if (verdict.name === "VerifyError" && typeof verdict.invalidReason === "string") {
        this.#opts.observe?.("verify", "refused");
        return { isValid: false, invalidReason: verdict.invalidReason, ...(verdict.payer ? { payer: verdict.payer } : {}) };
      }
      this.#opts.observe?.("verify", "unavailable");
      throw new FacilitatorUnavailable("verify", err);
    }
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const client = await this.#load();
    try {
      const r = await client.settle(payload, requirements);
      this.#opts.observe?.("settle", r.success ? "ok" : "refused");
      return r;
    } catch (err) {
      const verdict = err as { name?: string; errorReason?: string; transaction?: string; network?: string };
      if (verdict.name === "SettleError" && typeof verdict.errorReason === "string") {
        this.#opts.observe?.("settle", "refused");
        return {
          success: false,
          errorReason: verdict.errorReason,
          transaction: verdict.transaction ?? "",
          network: (verdict.network ?? requirements.network) as SettleResponse["network"],
        };
      }
      this.#opts.observe?.("settle", "unavailable");
      throw new FacilitatorUnavailable("settle", err);
    }
  }

  #load(): Promise<Client> {
    this.#client ??= import("@x402/core/http").then(({ HTTPFacilitatorClient }) => {
      const token = this.#opts.token;
      const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
      return new HTTPFacilitatorClient({
        url: this.#opts.url,
        timeoutMs: this.#opts.timeoutMs ?? 10_000,
        ...(headers ? { createAuthHeaders: async () => ({ verify: headers, settle: headers, supported: headers }) } : {}),
      });
    });
    return this.#client;
  }
}
