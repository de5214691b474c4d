import { createBLAKE3, createSHA256, type IHasher } from "hash-wasm";

/**
 * Hashing and randomness used by the core. BLAKE3 and SHA-256 come from hash-wasm
 * (WebAssembly, no native build); randomness from Web Crypto. Call `initCrypto()` once
 * before using the synchronous helpers (the composition root does).
 */
let blake3: IHasher | undefined;
let sha256: IHasher | undefined;

/** Loads the WebAssembly hashers; idempotent. */
export async function initCrypto(): Promise<void> {
  if (!blake3) blake3 = await createBLAKE3();
  if (!sha256) sha256 = await createSHA256();
}

function ready(h: IHasher | undefined): IHasher {
  if (!h) throw new Error("initCrypto() must be awaited before hashing");
  return h;
}

/** BLAKE3-256 of a UTF-8 string or bytes, as lowercase hex. */
export function blake3Hex(data: string | Uint8Array): string {
  const h = ready(blake3);
  h.init();
  h.update(data);
  return h.digest("hex");
}

/** SHA-256 of a UTF-8 string or bytes, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  const h = ready(sha256);
  h.init();
  h.update(data);
  return h.digest("hex");
}

/** Each raw key's SHA-256 states after its inner and outer pad (hash-wasm `save`): an HMAC under it then hashes only its message. */
const padded = new WeakMap<Uint8Array, { readonly inner: Uint8Array; readonly outer: Uint8Array }>();

/** The states of `key` after its inner and outer pad block (RFC 2104). */
function padStates(h: IHasher, key: string | Uint8Array): { readonly inner: Uint8Array; readonly outer: Uint8Array } {
  const known = typeof key === "string" ? undefined : padded.get(key);
  if (known) return known;
  const block = 64;
  let k = typeof key === "string" ? new TextEncoder().encode(key) : key;
  if (k.length > block) k = Uint8Array.from(Buffer.from(sha256Hex(k), "hex"));
  const ipad = new Uint8Array(block).fill(0x36);
  const opad = new Uint8Array(block).fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = (ipad[i] as number) ^ (k[i] as number);
    opad[i] = (opad[i] as number) ^ (k[i] as number);
  }
  h.init();
  h.update(ipad);
  const inner = h.save();
  h.init();
  h.update(opad);
  const states = { inner, outer: h.save() };
  if (typeof key !== "string") padded.set(key, states);
  return states;
}

/**
 * HMAC-SHA256 (RFC 2104) of a UTF-8 message under a key (UTF-8 text or raw bytes), as lowercase
 * hex. A raw key's padded states are kept (by the key's identity, e.g. STYX_SECRET_KEY's bytes),
 * so each keyed hash of a request costs its message only.
 */
export function hmacSha256Hex(key: string | Uint8Array, message: string | Uint8Array): string {
  const h = ready(sha256);
  const { inner: innerState, outer } = padStates(h, key);
  h.load(innerState);
  h.update(message);
  const inner = h.digest("binary");
  h.load(outer);
  h.update(inner);
  return h.digest("hex");
}

/** An incremental BLAKE3-256 over data that arrives in parts (blobs, backup files). */
export interface Blake3Stream {
  update(data: string | Uint8Array): void;
  /** The digest of everything given so far, as lowercase hex. */
  hex(): string;
}

/** A new incremental BLAKE3-256 (each stream its own; no `initCrypto` needed). */
export async function blake3Stream(): Promise<Blake3Stream> {
  const h = await createBLAKE3();
  h.init();
  return {
    update(data) {
      h.update(data);
    },
    hex: () => h.digest("hex"),
  };
}

/** Random bytes drawn from the system at once and handed out in order (each byte once), for small requests. */
const POOL_BYTES = 4096;
/** Requests up to this size (an id's 16 bytes) come from the pool; larger ones (keys, secrets) go to the system directly. */
const POOLED_MAX = 16;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/**
 * `n` cryptographically random bytes (Web Crypto). Small requests (ids) are cut from a pool
 * filled 4 KiB at a time: each call to the system costs ~10 µs of the event loop whatever its
 * size (measured in a single entry write, bench/writes.ts), and every id needed one. Each byte
 * of the pool is handed out once and wiped from it.
 */
export function randomBytes(n: number): Uint8Array {
  if (n > POOLED_MAX) return globalThis.crypto.getRandomValues(new Uint8Array(n));
  if (poolAt + n > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** Base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** A random identifier with a readable prefix, e.g. `usr_3k9…` (16 random bytes). */
export function newId(prefix: string): string {
  return `${prefix}_${base64url(randomBytes(16))}`;
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const len = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < len; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}
