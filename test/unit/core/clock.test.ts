import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { iso } from "../../../src/core/platform/clock.js";

describe("iso", () => {
  it("writes what Date#toISOString writes, edges and random times", () => {
    const day = 86_400_000;
    const edges = [0, 1, 999, 1000, day - 1, day, day + 1, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2028, 1, 29, 12)];
    edges.push(Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10_000, 0, 1), -1, -day, 1.5, -0.5, 8.64e15);
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) edges.push(Math.floor(next() * Date.UTC(2100, 0, 1)));
    // Runs of times on one day, then the day before: the cached day must follow.
    for (let i = 0; i < 200; i++) edges.push(Date.UTC(2026, 5, 1) + i * 431_999, Date.UTC(2026, 4, 31) + i * 7);
    for (const ms of edges) assert.equal(iso(ms), new Date(ms).toISOString(), `at ${ms}`);
  });

  it("throws as Date does on a time it cannot write", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) {
      assert.throws(() => iso(bad), RangeError);
    }
  });
});
