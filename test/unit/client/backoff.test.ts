import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconnectDelay } from "../../../packages/client/src/index.js";

describe("reconnectDelay", () => {
  it("doubles from 1 s and stops at 60 s without jitter", () => {
    const delays = Array.from({ length: 8 }, (_, i) => reconnectDelay(i, { jitter: 0 }));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000], "1, 2, 4, 8, 16, 32, 60, 60 s");
  });

  it("spreads each delay by ±20 % and never exceeds the maximum", () => {
    assert.equal(reconnectDelay(2, { random: () => 0 }), 3200, "-20 % at random 0");
    assert.ok(reconnectDelay(2, { random: () => 0.999999 }) > 4790, "about +20 % at random → 1");
    assert.ok(reconnectDelay(10, { random: () => 0.999999 }) <= 60000, "jitter never pushes past 60 s");
  });
});
