/** EIP-712 typed data as the verifier takes it. */
export interface TypedData {
  readonly domain: Record<string, unknown>;
  readonly types: Record<string, readonly { readonly name: string; readonly type: string }[]>;
  readonly primaryType: string;
  readonly message: Record<string, unknown>;
}

/** Offline verification of wallet signatures (no chain access). */
export interface SignatureVerifier {
  /** True when `signature` is an EIP-191 personal_sign of `message` by `address`. Never throws. */
  verifyPersonalMessage(address: string, message: string, signature: string): Promise<boolean>;
  /** True when `signature` is an EIP-712 signature of `data` by `address`. Never throws. */
  verifyTypedData(address: string, data: TypedData, signature: string): Promise<boolean>;
}
