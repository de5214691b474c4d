/** Plaintexts are padded to a multiple of this many bytes, so a sealed id does not tell its length (ids are ≤ 128 bytes). */
const PAD_BLOCK = 160;
/** Bytes of the random nonce a sealed value starts with. */
export const NONCE_BYTES = 12;

/**
 * Authenticated encryption of short strings (golem ids in the source directory) under a key
 * derived from `STYX_SECRET_KEY`, each bound to an associated string (a sealed value moved to
 * another row does not open). Without the key a sealed value says nothing, not even its
 * plaintext's length: plaintexts are padded (`padSealed`). Implemented with AES-256-GCM in
 * adapters/crypto/aes-sealed-box.ts.
 */
export interface SealedBox {
  /** Seals `text`, bound to `associated` (which is not secret and not stored in the result). */
  seal(text: string, associated: string): Promise<string>;
  /** The text sealed with `associated`, or undefined when it does not open (other key, other row, altered). */
  unseal(sealed: string, associated: string): Promise<string | undefined>;
}

/** ISO/IEC 7816-4 padding: 0x80, then zeros up to a multiple of PAD_BLOCK. */
export function padSealed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((bytes.length + 1) / PAD_BLOCK) * PAD_BLOCK);
  out.set(bytes);
  out[bytes.length] = 0x80;
  return out;
}

/** The text of padded bytes, or undefined when the padding is not there. */
export function unpadSealed(bytes: Uint8Array): string | undefined {
  const end = bytes.lastIndexOf(0x80);
  if (end < 0 || bytes.subarray(end + 1).some((b) => b !== 0)) return undefined;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
