import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

/**
 * The marketplace's package and escrow formats written from SPEC §16.1 with node:crypto alone,
 * apart from the server's code (adapters/crypto/): tests check the server against it.
 */

export function x25519Pub(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: raw.toString("base64url") }, format: "jwk" });
}
export function rawPub(k: KeyObject): Buffer {
  return Buffer.from((k.type === "public" ? k : createPublicKey(k)).export({ format: "jwk" }).x as string, "base64url");
}
export function wrap(cek: Buffer, recipientRaw: Buffer, cid: string): string {
  const e = generateKeyPairSync("x25519");
  const ePub = rawPub(e.publicKey);
  const shared = diffieHellman({ privateKey: e.privateKey, publicKey: x25519Pub(recipientRaw) });
  const k = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ePub, recipientRaw]), "styx-cek-v1", 32));
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", k, nonce).setAAD(Buffer.from(cid));
  const body = Buffer.concat([c.update(cek), c.final()]);
  return Buffer.concat([ePub, nonce, body, c.getAuthTag()]).toString("base64url");
}
export function unwrap(wrapped: string, priv: KeyObject, cid: string): Buffer {
  const b = Buffer.from(wrapped, "base64url");
  const ePub = b.subarray(0, 32);
  const shared = diffieHellman({ privateKey: priv, publicKey: x25519Pub(ePub) });
  const k = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ePub, rawPub(priv)]), "styx-cek-v1", 32));
  const d = createDecipheriv("aes-256-gcm", k, b.subarray(32, 44)).setAAD(Buffer.from(cid));
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(b.subarray(44, b.length - 16)), d.final()]);
}
export function encrypt(plain: Buffer, cek: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", cek, nonce);
  return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
}
export function decrypt(sealed: Buffer, cek: Buffer): Buffer {
  const d = createDecipheriv("aes-256-gcm", cek, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}
