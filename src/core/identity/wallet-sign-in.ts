import type { Clock } from "../platform/clock.js";
import { constantTimeEqual, hmacSha256Hex, randomBytes } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { type SignInFields, type SignInMessageCodec, type SignInSite, signInProblem } from "./sign-in-message.js";
import { malformedSignature, type SignatureVerifier } from "./signature-verifier.js";
import type { WalletChallenge } from "./types.js";

/** Settings of wallet sign-in. */
export interface WalletSignInOptions {
  /** Where messages point: STYX_PUBLIC_URL's domain and URI, STYX_CHAIN_ID. */
  readonly site: SignInSite;
  /** How long a challenge may be answered, in ms. */
  readonly challengeTtlMs: number;
  /** Secret that signs nonces, so challenges need no storage until used (≥ 16 chars). */
  readonly challengeKey: string;
}

/** A signed sign-in message that passed every check; its nonce is not spent yet. */
export interface CheckedSignIn {
  /** Lowercase 0x-address. */
  readonly address: string;
  readonly nonce: string;
  readonly expiresAt: number;
}

/** The human line every sign-in message carries (ASCII, one line: EIP-4361's statement). */
export const SIGN_IN_STATEMENT = "Sign in to Styx. This request costs nothing and grants no token approval.";

const NONCE = /^([0-9a-f]{24})([0-9a-f]{32})$/;

/**
 * Wallet sign-in with EIP-4361 (Sign-In with Ethereum) messages. Nothing is stored: the nonce
 * is 12 random bytes and an HMAC under the challenge key over them, the wallet, the issue time
 * and the expiry, so only this server's messages pass and none can be stretched or moved to
 * another wallet. The caller spends the nonce once the check passed (IdentityStore.spendNonce).
 */
export class WalletSignIn {
  readonly #messages: SignInMessageCodec;
  readonly #verifier: Pick<SignatureVerifier, "verifyPersonalMessage">;
  readonly #clock: Clock;
  readonly #opts: WalletSignInOptions;

  constructor(deps: {
    messages: SignInMessageCodec;
    verifier: Pick<SignatureVerifier, "verifyPersonalMessage">;
    clock: Clock;
    options: WalletSignInOptions;
  }) {
    this.#messages = deps.messages;
    this.#verifier = deps.verifier;
    this.#clock = deps.clock;
    this.#opts = deps.options;
  }

  /** A new sign-in message for `walletAddress`, to be signed with personal_sign (EIP-191). */
  async challenge(walletAddress: string): Promise<WalletChallenge> {
    const address = walletAddress.toLowerCase();
    const issuedAt = this.#clock.now();
    const expiresAt = issuedAt + this.#opts.challengeTtlMs;
    const random = Buffer.from(randomBytes(12)).toString("hex");
    const nonce = random + this.#mac(address, issuedAt, expiresAt, random);
    const message = await this.#messages.format(this.#fields(address, nonce, issuedAt, expiresAt));
    return { nonce, walletAddress: address, message, expiresAt };
  }

  /**
   * Checks a signed message: EIP-4361 form, this server's domain, URI and chain, not expired, a
   * nonce this server issued for that wallet and lifetime, the text exactly as issued, and a
   * canonical signature by the wallet. Throws 401 naming what failed; spends nothing.
   */
  async check(input: { message: string; signature: string }): Promise<CheckedSignIn> {
    const m = await this.#messages.parse(input.message);
    if (!m) {
      throw refused("The message is not an EIP-4361 (Sign-In with Ethereum) message: sign the one POST /v1/auth/challenge returns.");
    }
    const problem = signInProblem(m, this.#opts.site, this.#clock.now());
    if (problem) throw refused(problem.message, problem.field);
    const address = m.address.toLowerCase();
    const expiresAt = m.expiresAt as number;
    const parts = NONCE.exec(m.nonce);
    if (!parts || !constantTimeEqual(this.#mac(address, m.issuedAt, expiresAt, parts[1] as string), parts[2] as string)) {
      throw refused("The nonce was not issued by this server for this wallet and lifetime.", "nonce");
    }
    if (input.message !== (await this.#messages.format(this.#fields(address, m.nonce, m.issuedAt, expiresAt)))) {
      throw refused("The message differs from the one issued: sign it exactly as POST /v1/auth/challenge returned it.");
    }
    const verdict = await this.#verifier.verifyPersonalMessage(address, input.message, input.signature);
    if (verdict === "malformed") throw malformedSignature();
    if (verdict !== "valid") throw new StyxError("STYX_AUTH_INVALID_SIGNATURE", undefined, { details: [{ path: "/signature" }] });
    return { address, nonce: m.nonce, expiresAt };
  }

  #fields(address: string, nonce: string, issuedAt: number, expiresAt: number): SignInFields {
    const { site } = this.#opts;
    return {
      address,
      domain: site.domain,
      scheme: site.scheme,
      uri: site.uri,
      version: "1",
      chainId: site.chainId,
      nonce,
      statement: SIGN_IN_STATEMENT,
      issuedAt,
      expiresAt,
    };
  }

  #mac(address: string, issuedAt: number, expiresAt: number, random: string): string {
    return hmacSha256Hex(this.#opts.challengeKey, `siwe|${address}|${issuedAt}|${expiresAt}|${random}`).slice(0, 32);
  }
}

/** 401 STYX_AUTH_INVALID_CHALLENGE about the message (and the EIP-4361 field at fault). */
function refused(message: string, field?: string): StyxError {
  return new StyxError("STYX_AUTH_INVALID_CHALLENGE", message, { details: [{ path: "/message", ...(field ? { field } : {}) }] });
}
