import type { SignatureVerifier } from "../../core/identity/signature-verifier.js";

/**
 * EIP-191 verification with viem's offline ecrecover; no RPC, no chain access. viem is loaded
 * on first use (it costs ~0.35 s at start-up, and most servers see few wallet sign-ins).
 */
export class ViemSignatureVerifier implements SignatureVerifier {
  async verifyPersonalMessage(address: string, message: string, signature: string): Promise<boolean> {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address) || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
    try {
      const { verifyMessage } = await import("viem");
      return await verifyMessage({ address: address as `0x${string}`, message, signature: signature as `0x${string}` });
    } catch {
      return false;
    }
  }
}
