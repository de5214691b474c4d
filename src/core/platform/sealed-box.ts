import type { SecretKey } from "./secret-key.js";

/** Plaintexts are padded to a multiple of this many bytes, so a sealed id does not tell its length (ids are ≤ 128 bytes). */
const PAD_BLOCK = 160;
const NONCE_BYTES = 12;

/** Web Crypto's key type, named without the DOM library. */
type AesKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.deriveKey>>;

/**
 * Authenticated encryption of short strings under a key derived from `STYX_SECRET_KEY`:
 * AES-256-GCM (Web Crypto), key = HKDF-SHA256(STYX_SECRET_KEY, salt "styx", info = purpose),
 * a random 96-bit nonce per seal, the plaintext padded to a multiple of 160 bytes, and an
 * associated string bound in (a sealed value moved to another row does not open). Sealed
 * text: base64url(nonce ‖ ciphertext ‖ tag). Without the key a sealed value says nothing,
 * not even its plaintext's length (up to 159 bytes).
 */
export class SealedBox {
  readonly #key: AesKey;

  private constructor(key: AesKey) {
    this.#key = key;
  }

  /** The box of `purpose` (e.g. `source-directory`): one derived key per purpose. */
  static async open(key: SecretKey, purpose: string): Promise<SealedBox> {
    const subtle = globalThis.crypto.subtle;
    const ikm = await subtle.importKey("raw", key.bytes, "HKDF", false, ["deriveKey"]);
    const aes = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("styx"), info: new TextEncoder().encode(purpose) },
      ikm,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    return new SealedBox(aes);
  }

  /** Seals `text`, bound to `associated` (which is not secret and not stored in the result). */
  async seal(text: string, associated: string): Promise<string> {
    const plain = pad(new TextEncoder().encode(text));
    const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const sealed = new Uint8Array(
      await globalThis.crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: new TextEncoder().encode(associated) },
        this.#key,
        plain,
      ),
    );
    const out = new Uint8Array(NONCE_BYTES + sealed.length);
    out.set(nonce);
    out.set(sealed, NONCE_BYTES);
    return Buffer.from(out).toString("base64url");
  }

  /** The text sealed with `associated`, or undefined when it does not open (other key, other row, altered). */
  async unseal(sealed: string, associated: string): Promise<string | undefined> {
    const bytes = Buffer.from(sealed, "base64url");
    if (bytes.length <= NONCE_BYTES) return undefined;
    try {
      const plain = new Uint8Array(
        await globalThis.crypto.subtle.decrypt(
          { name: "AES-GCM", iv: bytes.subarray(0, NONCE_BYTES), additionalData: new TextEncoder().encode(associated) },
          this.#key,
          bytes.subarray(NONCE_BYTES),
        ),
      );
      return unpad(plain);
    } catch {
      return undefined;
    }
  }
}

/** ISO/IEC 7816-4 padding: 0x80, then zeros up to a multiple of PAD_BLOCK. */
function pad(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((bytes.length + 1) / PAD_BLOCK) * PAD_BLOCK);
  out.set(bytes);
  out[bytes.length] = 0x80;
  return out;
}

function unpad(bytes: Uint8Array): string | undefined {
  const end = bytes.lastIndexOf(0x80);
  if (end < 0 || bytes.subarray(end + 1).some((b) => b !== 0)) return undefined;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
