import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { before, describe, it } from "node:test";
import { constantTimeEqual, hmacSha256Hex, initCrypto, newId, randomBytes } from "../../../src/core/platform/crypto.js";

describe("hmacSha256Hex", () => {
  before(initCrypto);
  it("matches node:crypto for short, block-sized and long keys", () => {
    for (const key of ["k", "x".repeat(64), "y".repeat(200)]) {
      for (const msg of ["", "0xabc|lz3.nonce", "é".repeat(100)]) {
        assert.equal(hmacSha256Hex(key, msg), createHmac("sha256", key).update(msg).digest("hex"));
      }
    }
  });
  it("matches node:crypto for raw byte keys, whose padded states are kept between calls", () => {
    const a = new Uint8Array(32).fill(7);
    const b = new Uint8Array(80).fill(9);
    for (let round = 0; round < 2; round++) {
      for (const key of [a, b]) {
        for (const msg of ["golem:g1", "golem:g2", ""]) {
          assert.equal(hmacSha256Hex(key, msg), createHmac("sha256", key).update(msg).digest("hex"));
        }
      }
    }
  });
  it("hands out pooled random bytes once: ids across several refills of the pool are all distinct", () => {
    const ids = new Set(Array.from({ length: 2_000 }, () => newId("t")));
    assert.equal(ids.size, 2_000);
    const small = Array.from({ length: 600 }, () => Buffer.from(randomBytes(12)).toString("hex"));
    assert.equal(new Set(small).size, 600);
    assert.equal(randomBytes(100).length, 100);
    assert.equal(randomBytes(0).length, 0);
  });
  it("compares strings by content and length", () => {
    assert.equal(constantTimeEqual("abc", "abc"), true);
    assert.equal(constantTimeEqual("abc", "abd"), false);
    assert.equal(constantTimeEqual("abc", "abcd"), false);
  });
});
