import type { SignatureCheck, SignatureVerifier, TypedData } from "../../core/identity/signature-verifier.js";

type Hex = `0x${string}`;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/**
 * Half the order of secp256k1 (EIP-2): an `s` above it is the mirror of a valid signature,
 * (r, n − s) with `v` flipped, which ecrecover would accept for the same signer.
 */
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * EIP-191 and EIP-712 verification with viem's offline ecrecover; no RPC, no chain access.
 * Signatures are first held to their one canonical form (low s, v 27/28): viem alone recovers
 * the signer from a high-s signature with v flipped, and from v 0/1. viem is loaded on first use
 * (it costs ~0.35 s at start-up, and most servers see few wallet signatures).
 */
export class ViemSignatureVerifier implements SignatureVerifier {
  async verifyPersonalMessage(address: string, message: string, signature: string): Promise<SignatureCheck> {
    if (!ADDRESS.test(address) || !(await isCanonical(signature))) return "malformed";
    try {
      const { verifyMessage } = await import("viem");
      return (await verifyMessage({ address: address as Hex, message, signature: signature as Hex })) ? "valid" : "wrong_signer";
    } catch {
      return "wrong_signer";
    }
  }

  async verifyTypedData(address: string, data: TypedData, signature: string): Promise<SignatureCheck> {
    if (!ADDRESS.test(address) || !(await isCanonical(signature))) return "malformed";
    try {
      const { verifyTypedData } = await import("viem");
      // viem's generics want literal types; the data was built from Styx's own constants.
      const ok = await verifyTypedData({
        ...(data as unknown as Parameters<typeof verifyTypedData>[0]),
        address: address as Hex,
        signature: signature as Hex,
      });
      return ok ? "valid" : "wrong_signer";
    } catch {
      return "wrong_signer";
    }
  }
}

/** 65 bytes `r ‖ s ‖ v` with r and s in [1, n − 1], s ≤ n/2 and v 27 or 28 (EIP-2). */
async function isCanonical(signature: string): Promise<boolean> {
  if (!SIGNATURE.test(signature)) return false;
  try {
    const { parseSignature, hexToBigInt } = await import("viem");
    // Throws on r or s outside [1, n − 1] and on a v that is none of 0, 1, 27, 28.
    const { s, v } = parseSignature(signature as Hex);
    return (v === 27n || v === 28n) && hexToBigInt(s) <= SECP256K1_HALF_N;
  } catch {
    return false;
  }
}
