import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBytes, toBytes } from "../../../src/adapters/sql/codec.js";

describe("fromBytes", () => {
  const v = new Float32Array([0.5, -1, 2.25]);

  it("views a Buffer that alone spans its ArrayBuffer, without a copy", () => {
    const own = Buffer.from(new Float32Array(v).buffer);
    assert.equal(own.byteLength, own.buffer.byteLength);
    const out = fromBytes(own) as Float32Array;
    assert.deepEqual(Array.from(out), [0.5, -1, 2.25]);
    assert.equal(out.buffer, own.buffer);
  });

  it("copies a Buffer that shares its ArrayBuffer (a pool slice, an odd offset): aligned, owning its memory", () => {
    const big = Buffer.alloc(64);
    const at = 5; // not a multiple of 4: a Float32Array view would throw
    (toBytes(v) as Buffer).copy(big, at);
    const slice = big.subarray(at, at + 12);
    const out = fromBytes(slice) as Float32Array;
    assert.deepEqual(Array.from(out), [0.5, -1, 2.25]);
    assert.notEqual(out.buffer, big.buffer);
    assert.equal(out.buffer.byteLength, 12);
    big.fill(0);
    assert.deepEqual(Array.from(out), [0.5, -1, 2.25], "later writes to the pool do not reach the vector");
  });

  it("keeps null", () => {
    assert.equal(fromBytes(null), null);
  });
});
