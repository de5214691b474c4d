import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { before, describe, it } from "node:test";
import { constantTimeEqual, hmacSha256Hex, initCrypto } from "../../../src/core/platform/crypto.js";

describe("hmacSha256Hex", () => {
  before(initCrypto);
  it("matches node:crypto for short, block-sized and long keys", () => {
    for (const key of ["k", "x".repeat(64), "y".repeat(200)]) {
      for (const msg of ["", "0xabc|lz3.nonce", "é".repeat(100)]) {
        assert.equal(hmacSha256Hex(key, msg), createHmac("sha256", key).update(msg).digest("hex"));
      }
    }
  });
  it("compares strings by content and length", () => {
    assert.equal(constantTimeEqual("abc", "abc"), true);
    assert.equal(constantTimeEqual("abc", "abd"), false);
    assert.equal(constantTimeEqual("abc", "abcd"), false);
  });
});
