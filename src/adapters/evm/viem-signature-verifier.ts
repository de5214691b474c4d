import { verifyMessage } from "viem";
import type { SignatureVerifier } from "../../core/identity/signature-verifier.js";

/** EIP-191 verification with viem's offline ecrecover; no RPC, no chain access. */
export class ViemSignatureVerifier implements SignatureVerifier {
  async verifyPersonalMessage(address: string, message: string, signature: string): Promise<boolean> {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address) || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
    try {
      return await verifyMessage({ address: address as `0x${string}`, message, signature: signature as `0x${string}` });
    } catch {
      return false;
    }
  }
}
