/** Offline verification of wallet signatures (no chain access). */
export interface SignatureVerifier {
  /** True when `signature` is an EIP-191 personal_sign of `message` by `address`. Never throws. */
  verifyPersonalMessage(address: string, message: string, signature: string): Promise<boolean>;
}
