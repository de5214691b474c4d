import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRange } from "../../../src/server/routes/blobs/range.js";

describe("Range header parsing for blobs", () => {
  it("reads the three single-range forms, clamping the end to the blob", () => {
    assert.deepEqual(parseRange("bytes=10-19", 100), { start: 10, end: 19 });
    assert.deepEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange("bytes=-5", 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange("bytes=-500", 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange("bytes=0-99999999999999999999", 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange(" Bytes = 1 - 2 ", 100), { start: 1, end: 2 });
  });

  it("calls ranges outside the blob unsatisfiable", () => {
    assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
    assert.equal(parseRange("bytes=100-200", 100), "unsatisfiable");
    assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
    assert.equal(parseRange("bytes=0-0", 0), "unsatisfiable");
    assert.equal(parseRange("bytes=-1", 0), "unsatisfiable");
  });

  it("ignores what it does not serve: no header, other units, several ranges, malformed values", () => {
    for (const h of [undefined, "items=0-1", "bytes=0-1,4-5", "bytes=5-2", "bytes=-", "bytes=a-b", "bytes 0-1", ""]) {
      assert.equal(parseRange(h, 100), undefined, String(h));
    }
  });
});
