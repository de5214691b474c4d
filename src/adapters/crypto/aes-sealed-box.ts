import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { NONCE_BYTES, padSealed, type SealedBox, unpadSealed } from "../../core/platform/sealed-box.js";
import type { SecretKey } from "../../core/platform/secret-key.js";

const TAG_BYTES = 16;

/**
 * The source directory's SealedBox (core/platform/sealed-box.ts) with node:crypto's
 * AES-256-GCM: key = HKDF-SHA256(STYX_SECRET_KEY, salt "styx", info = purpose),
 * a random 96-bit nonce per seal, the plaintext padded to a multiple of 160 bytes, and an
 * associated string bound in (a sealed value moved to another row does not open). Sealed
 * text: base64url(nonce ‖ ciphertext ‖ tag), as Web Crypto's AES-GCM writes it (the box used
 * it before; a unit test opens its values). Without the key a sealed value says nothing, not
 * even its plaintext's length (up to 159 bytes). Synchronous underneath: Web Crypto's
 * decrypt, a job on the thread pool with its promise, was a fifth of a reinforcing deposit's
 * main-thread time (its achievements look up the golem of a source).
 */
export class AesSealedBox implements SealedBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** The box of `purpose` (e.g. `source-directory`): one derived key per purpose. */
  static open(key: SecretKey, purpose: string): AesSealedBox {
    return new AesSealedBox(Buffer.from(hkdfSync("sha256", key.bytes, "styx", purpose, 32)));
  }

  /** Seals `text`, bound to `associated` (which is not secret and not stored in the result). */
  async seal(text: string, associated: string): Promise<string> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(Buffer.from(associated));
    const body = Buffer.concat([cipher.update(padSealed(Buffer.from(text))), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url");
  }

  /** The text sealed with `associated`, or undefined when it does not open (other key, other row, altered). */
  async unseal(sealed: string, associated: string): Promise<string | undefined> {
    const bytes = Buffer.from(sealed, "base64url");
    if (bytes.length < NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(associated));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return unpadSealed(Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]));
    } catch {
      return undefined;
    }
  }
}
