/**
 * The escrow of SPEC §16.1. A seller wraps a package's content key (CEK, 32 bytes) to the
 * instance's escrow X25519 key:
 *
 *   wrap(CEK → R) = base64url(E_pub ‖ nonce(12) ‖ AES-256-GCM(K, CEK, aad = content cid) ‖ tag(16))
 *   K = HKDF-SHA256(X25519(e, R), salt = E_pub ‖ R, info = "styx-cek-v1"), E ephemeral
 *
 * Styx opens the wrap in memory only to check it (a new listing) and to wrap the same CEK to a
 * buyer's key (a purchase); it never decrypts a package. Every opening is audited by the service.
 */

/** An escrow public key as offered: its id and the raw X25519 key, base64url. */
export interface EscrowKey {
  readonly kid: string;
  readonly publicKey: string;
}

/** The escrow port: key material stays behind it. */
export interface Escrow {
  /** Every key that opens (oldest first); the last is offered to sellers. */
  keys(): readonly EscrowKey[];
  /** The CEK inside `wrapped` under key `kid` with `cid` as associated data, or undefined (unknown kid, another cid, altered). */
  open(kid: string, wrapped: string, cid: string): Uint8Array | undefined;
  /** `cek` wrapped to the X25519 public key `publicKey` (base64url, 32 bytes) with `cid` as associated data; undefined for a key that is not one. */
  wrap(publicKey: string, cek: Uint8Array, cid: string): string | undefined;
}

/** Bytes of an X25519 key, of a CEK. */
export const X25519_KEY_BYTES = 32;
export const CEK_BYTES = 32;
