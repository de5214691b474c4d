import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { AesSealedBox } from "../../../src/adapters/crypto/aes-sealed-box.js";
import { hmacSha256Hex, initCrypto } from "../../../src/core/platform/crypto.js";
import { golemSourceHash, keyedHash, newSecretKeyText, SecretKey, userSourceHash } from "../../../src/core/platform/secret-key.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
/** Bytes 0x00..0x1f: a 32-byte key. */
const KEY_0_31 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

describe("the keyed hash (SPEC §3)", () => {
  before(initCrypto);

  it("is HMAC-SHA256 over byte keys: RFC 4231 test cases 1, 2, 6 and 7", () => {
    assert.equal(hmacSha256Hex(hex("0b".repeat(20)), "Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert.equal(hmacSha256Hex("Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const big = hex("aa".repeat(131));
    assert.equal(
      hmacSha256Hex(big, "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
    assert.equal(
      hmacSha256Hex(
        big,
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    );
  });

  it("is the first 12 bytes of the HMAC, as 24 hex characters", () => {
    const key = SecretKey.fromBase64(Buffer.from(hex("aa".repeat(131))).toString("base64"));
    assert.equal(keyedHash(key, "Test Using Larger Than Block-Size Key - Hash Key First"), "60e431591ee0b67f0d8a26aa");
  });

  it("labels each use: a golem's source is HMAC(key, 'golem:' + id), a user's HMAC(key, 'user:' + id)", () => {
    const key = SecretKey.fromBase64(KEY_0_31);
    // Vectors from node:crypto's createHmac (an independent implementation).
    assert.equal(golemSourceHash(key, "g1"), "1a0cff55b433583d23772baf");
    assert.equal(userSourceHash(key, "u1"), "796a524d977ecee8c160b95e");
    assert.equal(keyedHash(key, "golem:g1"), golemSourceHash(key, "g1"));
    assert.notEqual(golemSourceHash(key, "u1"), userSourceHash(key, "u1"), "one id hashes differently per use");
  });

  it("differs under another key", () => {
    const a = SecretKey.fromBase64(newSecretKeyText());
    const b = SecretKey.fromBase64(newSecretKeyText());
    assert.notEqual(golemSourceHash(a, "g1"), golemSourceHash(b, "g1"));
  });
});

describe("SecretKey", () => {
  it("takes base64 (standard or URL-safe, padding optional) of at least 32 bytes", () => {
    assert.deepEqual(
      [...SecretKey.fromBase64(KEY_0_31).bytes],
      Array.from({ length: 32 }, (_, i) => i),
    );
    const urlSafe = Buffer.alloc(48, 0xfb).toString("base64url");
    assert.equal(SecretKey.fromBase64(urlSafe).bytes.length, 48);
    assert.equal(SecretKey.fromBase64(`  ${KEY_0_31}\n`).bytes.length, 32, "surrounding whitespace (a file's newline) is ignored");
  });

  it("refuses short keys and text that is not base64", () => {
    assert.throws(() => SecretKey.fromBase64(Buffer.alloc(31).toString("base64")), /at least 32 bytes, not 31/);
    assert.throws(() => SecretKey.fromBase64(""), /at least 32 bytes/);
    assert.throws(() => SecretKey.fromBase64("not base64 at all!"), /must be base64/);
    assert.throws(() => SecretKey.fromBase64(`${"A".repeat(45)}`), /must be base64/, "a length no base64 has");
  });

  it("never prints itself", () => {
    const key = SecretKey.fromBase64(KEY_0_31);
    assert.equal(String(key), "[secret key]");
    assert.equal(JSON.stringify({ key }), '{"key":"[secret key]"}');
  });

  it("generates 32 random bytes as base64", () => {
    const a = newSecretKeyText();
    assert.equal(Buffer.from(a, "base64").length, 32);
    assert.notEqual(a, newSecretKeyText());
  });
});

describe("AesSealedBox", () => {
  it("opens what it sealed, bound to the associated string", async () => {
    const box = AesSealedBox.open(SecretKey.fromBase64(KEY_0_31), "source-directory");
    const sealed = await box.seal("golem-1", "hash-a");
    assert.equal(await box.unseal(sealed, "hash-a"), "golem-1");
    assert.equal(await box.unseal(sealed, "hash-b"), undefined, "moved to another row, it does not open");
    assert.notEqual(await box.seal("golem-1", "hash-a"), sealed, "a fresh nonce each time");
  });

  it("does not open under another key or another purpose, nor when altered", async () => {
    const key = SecretKey.fromBase64(KEY_0_31);
    const sealed = await AesSealedBox.open(key, "source-directory").seal("golem-1", "h");
    assert.equal(await AesSealedBox.open(SecretKey.fromBase64(newSecretKeyText()), "source-directory").unseal(sealed, "h"), undefined);
    assert.equal(await AesSealedBox.open(key, "other").unseal(sealed, "h"), undefined);
    const bytes = Buffer.from(sealed, "base64url");
    bytes[20] = (bytes[20] as number) ^ 1;
    assert.equal(await AesSealedBox.open(key, "source-directory").unseal(bytes.toString("base64url"), "h"), undefined);
    assert.equal(await AesSealedBox.open(key, "source-directory").unseal("", "h"), undefined);
  });

  it("hides the length of what it seals: every id up to 128 characters seals to the same length", async () => {
    const box = AesSealedBox.open(SecretKey.fromBase64(KEY_0_31), "source-directory");
    const lengths = new Set(
      await Promise.all(["g", "golem-with-a-longer-name", "x".repeat(128)].map((id) => box.seal(id, "h").then((s) => s.length))),
    );
    assert.equal(lengths.size, 1);
    assert.equal(await box.unseal(await box.seal("x".repeat(128), "h"), "h"), "x".repeat(128));
    assert.equal(await box.unseal(await box.seal("", "h"), "h"), "");
  });
});

describe("AesSealedBox and Web Crypto", () => {
  /** The box as it was written with Web Crypto: HKDF-SHA256 (salt "styx", info = purpose) to an AES-256-GCM key. */
  async function webCryptoKey(purpose: string) {
    const subtle = globalThis.crypto.subtle;
    const ikm = await subtle.importKey("raw", SecretKey.fromBase64(KEY_0_31).bytes, "HKDF", false, ["deriveKey"]);
    const info = new TextEncoder().encode(purpose);
    const salt = new TextEncoder().encode("styx");
    return subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt, info }, ikm, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
  }

  it("opens values Web Crypto's AES-GCM sealed under the same key, and Web Crypto opens its values", async () => {
    const key = await webCryptoKey("source-directory");
    const box = AesSealedBox.open(SecretKey.fromBase64(KEY_0_31), "source-directory");
    const nonce = new Uint8Array(12).fill(7);
    const plain = new Uint8Array(160);
    plain.set(new TextEncoder().encode("golem-9"));
    plain[7] = 0x80;
    const aad = new TextEncoder().encode("hash-z");
    const old = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, plain));
    const sealedBefore = Buffer.concat([nonce, old]).toString("base64url");
    assert.equal(await box.unseal(sealedBefore, "hash-z"), "golem-9");
    assert.equal(await box.unseal(sealedBefore, "hash-y"), undefined);

    const sealedNow = Buffer.from(await box.seal("golem-10", "hash-q"), "base64url");
    const opened = await globalThis.crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealedNow.subarray(0, 12), additionalData: new TextEncoder().encode("hash-q") },
      key,
      sealedNow.subarray(12),
    );
    assert.equal(new TextDecoder().decode(new Uint8Array(opened).subarray(0, 8)), "golem-10");
  });
});
