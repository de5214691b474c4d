import { StyxError } from "../platform/errors.js";

/** EIP-712 typed data as the verifier takes it. */
export interface TypedData {
  readonly domain: Record<string, unknown>;
  readonly types: Record<string, readonly { readonly name: string; readonly type: string }[]>;
  readonly primaryType: string;
  readonly message: Record<string, unknown>;
}

/**
 * What checking a signature found: `valid`; `wrong_signer` (a well-formed signature by another
 * key, or over other data); `malformed` (not 65 bytes `r ‖ s ‖ v`, or not canonical: `s` above
 * half the curve order, or `v` other than 27/28 — EIP-2 — refused even when it would recover
 * the expected address, since a signature must have exactly one accepted form).
 */
export type SignatureCheck = "valid" | "wrong_signer" | "malformed";

/**
 * Offline verification of wallet signatures (no chain access: externally owned accounts only).
 * Obligations: high-s and any `v` but 27/28 answer `malformed` before any recovery; the
 * methods never throw.
 */
export interface SignatureVerifier {
  /** Checks an EIP-191 personal_sign of `message` by `address`. */
  verifyPersonalMessage(address: string, message: string, signature: string): Promise<SignatureCheck>;
  /** Checks an EIP-712 signature of `data` by `address`. */
  verifyTypedData(address: string, data: TypedData, signature: string): Promise<SignatureCheck>;
}

/** 401 STYX_AUTH_INVALID_SIGNATURE for a `malformed` signature: what its one accepted form is. */
export function malformedSignature(path = "/signature"): StyxError {
  return new StyxError(
    "STYX_AUTH_INVALID_SIGNATURE",
    "The signature is not canonical: it must be 65 bytes r ‖ s ‖ v with s in the lower half of the curve order and v 27 or 28 (EIP-2).",
    { details: [{ path }] },
  );
}
