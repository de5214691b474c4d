import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

/**
 * SPEC §16.1's CEK wrap with node:crypto (X25519, HKDF-SHA256, AES-256-GCM), no crypto of our own:
 *
 *   wrap(CEK → R) = base64url(E_pub ‖ nonce(12) ‖ AES-256-GCM(K, CEK, aad = cid) ‖ tag(16))
 *   K = HKDF-SHA256(X25519(e, R), salt = E_pub ‖ R, info = "styx-cek-v1")
 */

const INFO = "styx-cek-v1";
const KEY = 32;
const NONCE = 12;
const TAG = 16;
// DER headers of an X25519 key (RFC 8410): node:crypto imports raw keys through them.
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");

/** The X25519 private key whose scalar is `seed` (32 bytes). */
export function x25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== KEY) throw new Error("an X25519 private key is 32 bytes");
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, seed]), format: "der", type: "pkcs8" });
}

/** The raw 32 bytes of an X25519 key's public half. */
export function x25519PublicRaw(key: KeyObject): Buffer {
  // Node 20's createPublicKey takes a private KeyObject, not a public one.
  const pub = key.type === "public" ? key : createPublicKey(key);
  return (pub.export({ format: "der", type: "spki" }) as Buffer).subarray(SPKI_X25519.length);
}

/** An X25519 public key from its raw bytes, or undefined when they are not 32. */
export function x25519PublicKey(raw: Uint8Array): KeyObject | undefined {
  if (raw.length !== KEY) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
}

function kek(shared: Buffer, ePub: Uint8Array, rPub: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ePub, rPub]), INFO, KEY));
}

/** `cek` wrapped to the raw X25519 public key `recipient`, bound to `cid`; undefined when `recipient` is not a usable key. */
export function wrapCek(recipient: Uint8Array, cek: Uint8Array, cid: string): string | undefined {
  const r = x25519PublicKey(recipient);
  if (!r) return undefined;
  const e = generateKeyPairSync("x25519");
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: e.privateKey, publicKey: r });
  } catch {
    return undefined; // a low-order point: no shared secret
  }
  const ePub = x25519PublicRaw(e.publicKey);
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv("aes-256-gcm", kek(shared, ePub, recipient), nonce);
  cipher.setAAD(Buffer.from(cid, "utf8"));
  const body = Buffer.concat([cipher.update(cek), cipher.final()]);
  return Buffer.concat([ePub, nonce, body, cipher.getAuthTag()]).toString("base64url");
}

/** The key inside `wrapped` for `privateKey`, bound to `cid`, or undefined when it does not open. */
export function unwrapCek(privateKey: KeyObject, wrapped: string, cid: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(wrapped)) return undefined;
  const bytes = Buffer.from(wrapped, "base64url");
  if (bytes.length < KEY + NONCE + TAG) return undefined;
  const ePubRaw = bytes.subarray(0, KEY);
  const ePub = x25519PublicKey(ePubRaw);
  if (!ePub) return undefined;
  try {
    const shared = diffieHellman({ privateKey, publicKey: ePub });
    const decipher = createDecipheriv("aes-256-gcm", kek(shared, ePubRaw, x25519PublicRaw(privateKey)), bytes.subarray(KEY, KEY + NONCE));
    decipher.setAAD(Buffer.from(cid, "utf8"));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
    return Buffer.concat([decipher.update(bytes.subarray(KEY + NONCE, bytes.length - TAG)), decipher.final()]);
  } catch {
    return undefined;
  }
}
