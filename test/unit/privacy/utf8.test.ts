import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isUtf8 } from "../../../src/core/privacy/scrub.js";

const FATAL = new TextDecoder("utf-8", { fatal: true });

function fatalAccepts(bytes: Uint8Array): boolean {
  try {
    FATAL.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Bytes near UTF-8's edges: ASCII, continuation bytes, every lead byte, the bounds of the second byte. */
const edgy = fc
  .array(
    fc.constantFrom(0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff),
    {
      maxLength: 12,
    },
  )
  .map((xs) => Uint8Array.from(xs));

describe("the scrubber's UTF-8 check", () => {
  it("accepts exactly what a fatal TextDecoder accepts", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 16 }), edgy), (bytes) => {
        assert.equal(isUtf8(bytes), fatalAccepts(bytes), Buffer.from(bytes).toString("hex"));
      }),
      { numRuns: 20_000 },
    );
  });

  it("accepts every encoded string, however unusual its characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        assert.ok(isUtf8(new TextEncoder().encode(s)));
      }),
      { numRuns: 300 },
    );
  });
});
