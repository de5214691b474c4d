import { hkdfSync, type KeyObject } from "node:crypto";
import type { Escrow, EscrowKey } from "../../core/marketplace/escrow.js";
import type { SecretKey } from "../../core/platform/secret-key.js";
import { unwrapCek, wrapCek, x25519PrivateKey, x25519PublicRaw } from "./cek-wrap.js";

/**
 * The escrow keys of SPEC §16.1 with node:crypto. Each kid's X25519 private key is
 * HKDF-SHA256(STYX_SECRET_KEY, salt "styx", info "styx-escrow-x25519:" + kid): every gateway
 * holding the same secret holds the same keys, nothing is stored, and a new kid rotates (older
 * kids still open their listings). Private keys never leave this object.
 */
export class NodeEscrow implements Escrow {
  readonly #keys: ReadonlyMap<string, { readonly priv: KeyObject; readonly pub: EscrowKey }>;

  constructor(secret: SecretKey, kids: readonly string[]) {
    if (kids.length === 0) throw new Error("the escrow needs at least one kid");
    const keys = new Map<string, { priv: KeyObject; pub: EscrowKey }>();
    for (const kid of kids) {
      const seed = new Uint8Array(hkdfSync("sha256", secret.bytes, "styx", `styx-escrow-x25519:${kid}`, 32));
      const priv = x25519PrivateKey(seed);
      keys.set(kid, { priv, pub: { kid, publicKey: x25519PublicRaw(priv).toString("base64url") } });
    }
    this.#keys = keys;
  }

  keys(): readonly EscrowKey[] {
    return [...this.#keys.values()].map((k) => k.pub);
  }

  open(kid: string, wrapped: string, cid: string): Uint8Array | undefined {
    const key = this.#keys.get(kid);
    return key ? unwrapCek(key.priv, wrapped, cid) : undefined;
  }

  wrap(publicKey: string, cek: Uint8Array, cid: string): string | undefined {
    if (!/^[A-Za-z0-9_-]{43}$/.test(publicKey)) return undefined;
    return wrapCek(Buffer.from(publicKey, "base64url"), cek, cid);
  }
}
