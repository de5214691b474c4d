import { hmacSha256Hex } from "./crypto.js";

/** Fewest bytes `STYX_SECRET_KEY` may decode to (SPEC §3). */
export const SECRET_KEY_MIN_BYTES = 32;

/** Bytes of a keyed hash (SPEC §3: HMAC-SHA256 truncated to 12 bytes, 24 hex characters). */
export const KEYED_HASH_BYTES = 12;

// Standard or URL-safe alphabet, optional padding; checked by length (no backtracking).
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * `STYX_SECRET_KEY`: the key of every keyed hash (SPEC §3) and of the sealed source directory.
 * It never reaches the database, a log line or a JSON body: `toString`/`toJSON` print
 * `[secret key]`. Built from base64 text of at least 32 decoded bytes.
 */
export class SecretKey {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Parses base64 (standard or URL-safe, padding optional); throws a message fit for a config error. */
  static fromBase64(text: string): SecretKey {
    const t = text.trim();
    if (!BASE64.test(t) || t.replace(/=+$/, "").length % 4 === 1) throw new Error("must be base64");
    const bytes = Uint8Array.from(Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
    if (bytes.length < SECRET_KEY_MIN_BYTES)
      throw new Error(`must decode to at least ${SECRET_KEY_MIN_BYTES} bytes, not ${bytes.length} (e.g. \`openssl rand -base64 32\`)`);
    return new SecretKey(bytes);
  }

  /** The raw key; only for HMAC and key derivation in core/platform. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  toString(): string {
    return "[secret key]";
  }

  toJSON(): string {
    return "[secret key]";
  }
}

/** A new random key as base64 text (32 bytes), what a micronode generates into its data dir. */
export function newSecretKeyText(): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(SECRET_KEY_MIN_BYTES))).toString("base64");
}

/**
 * The keyed hash of SPEC §3: HMAC-SHA256 of `input` (UTF-8) under the key, truncated to
 * 12 bytes, as 24 lowercase hex characters. Callers prefix `input` with a label naming what
 * it hides (`golem:<id>`, `user:<id>`, …: see HASH_LABELS) so one id hashes differently per use.
 * `initCrypto()` must have been awaited.
 */
export function keyedHash(key: SecretKey, input: string): string {
  return hmacSha256Hex(key.bytes, input).slice(0, KEYED_HASH_BYTES * 2);
}

/**
 * Domain-separation labels of keyed hashes: the hash of an id is `keyedHash(key, label + id)`.
 * `golem:` is the public source of a golem (lethe sources, pheromone sources, causal
 * publishers, bloodstains); `user:` the public stand-in for a user (k-anonymity counts);
 * `audit:` an audit record's chain hash (over its canonical content, core/platform/audit.ts).
 */
export const HASH_LABELS = { golem: "golem:", user: "user:", letheCopy: "lethe:", audit: "audit:" } as const;

/** Ids' keyed hashes remembered per key, at most this many (then forgotten all at once). */
const REMEMBERED_MAX = 10_000;
const remembered = new WeakMap<SecretKey, Map<string, string>>();

/**
 * `keyedHash` of a short input that recurs (an id with its label: every deposit of a golem hashes
 * its id, ~5 µs of HMAC each), remembered for this key.
 */
export function rememberedKeyedHash(key: SecretKey, input: string): string {
  let known = remembered.get(key);
  if (!known) {
    known = new Map();
    remembered.set(key, known);
  }
  let hash = known.get(input);
  if (hash === undefined) {
    hash = keyedHash(key, input);
    if (known.size >= REMEMBERED_MAX) known.clear();
    known.set(input, hash);
  }
  return hash;
}

/** A golem's public source hash: `keyedHash(key, "golem:" + golemId)`. */
export function golemSourceHash(key: SecretKey, golemId: string): string {
  return rememberedKeyedHash(key, HASH_LABELS.golem + golemId);
}

/** A user's public stand-in: `keyedHash(key, "user:" + userId)`. */
export function userSourceHash(key: SecretKey, userId: string): string {
  return rememberedKeyedHash(key, HASH_LABELS.user + userId);
}
