import type { SignatureVerifier, TypedData } from "../../core/identity/signature-verifier.js";

type Hex = `0x${string}`;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/**
 * EIP-191 and EIP-712 verification with viem's offline ecrecover; no RPC, no chain access.
 * viem is loaded on first use (it costs ~0.35 s at start-up, and most servers see few
 * wallet signatures).
 */
export class ViemSignatureVerifier implements SignatureVerifier {
  async verifyPersonalMessage(address: string, message: string, signature: string): Promise<boolean> {
    if (!ADDRESS.test(address) || !SIGNATURE.test(signature)) return false;
    try {
      const { verifyMessage } = await import("viem");
      return await verifyMessage({ address: address as Hex, message, signature: signature as Hex });
    } catch {
      return false;
    }
  }

  async verifyTypedData(address: string, data: TypedData, signature: string): Promise<boolean> {
    if (!ADDRESS.test(address) || !SIGNATURE.test(signature)) return false;
    try {
      const { verifyTypedData } = await import("viem");
      // viem's generics want literal types; the data was built from Styx's own constants.
      return await verifyTypedData({
        ...(data as unknown as Parameters<typeof verifyTypedData>[0]),
        address: address as Hex,
        signature: signature as Hex,
      });
    } catch {
      return false;
    }
  }
}
