import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judgePlateau, type MemorySample, median, slope } from "../../../src/testing/memory-plateau.js";

const MB = 1024 * 1024;

/** A run of `seconds` with one reading a second: heap and RSS in MB as functions of t. */
function run(seconds: number, heap: (t: number) => number, rss: (t: number) => number = () => 120): MemorySample[] {
  return Array.from({ length: seconds + 1 }, (_, t) => ({ t, heapUsed: heap(t) * MB, rss: rss(t) * MB }));
}

/** Deterministic noise in [-1, 1]. */
const noise = (t: number) => Math.sin(t * 12.9898) * 0.5 + Math.sin(t * 78.233) * 0.5;

describe("the soak's plateau criterion", () => {
  it("fits slopes and medians", () => {
    assert.equal(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
      2,
    );
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });

  it("passes a level series with warm-up growth, noise and a GC sawtooth", () => {
    // Warm-up: 20 → 34 MB in the first minute; then level, with ±0.5 MB noise and a 15 MB sawtooth every 40 s.
    const heap = (t: number) => Math.min(34, 20 + (14 * t) / 60) + 0.5 * noise(t) + (t % 40 < 5 ? 0 : ((t % 40) / 40) * 15);
    const v = judgePlateau(
      run(600, heap, (t) => Math.min(125, 90 + t / 2) + 2 * noise(t)),
      600,
    );
    assert.ok(v.ok, `level: ${v.failures.join("; ")}`);
    assert.ok(Math.abs(v.heapSlopeMbPerMin) < 0.2, `slope ${v.heapSlopeMbPerMin}`);
  });

  it("passes a level that steps up once and stays", () => {
    const v = judgePlateau(
      run(600, (t) => (t < 300 ? 34 : 35.5) + 0.3 * noise(t)),
      600,
    );
    assert.ok(v.ok, `one step: ${v.failures.join("; ")}`);
  });

  it("fails on steady heap growth, even a slow one under a sawtooth", () => {
    // 1 MB/min on top of 34 MB: +10 MB over the ten minutes.
    const slow = judgePlateau(
      run(600, (t) => 34 + t / 60 + 0.5 * noise(t) + (t % 40 < 5 ? 0 : ((t % 40) / 40) * 15)),
      600,
    );
    assert.equal(slow.ok, false, "1 MB/min is a leak");
    assert.match(slow.failures.join("\n"), /heap troughs grow (0\.9\d|1\.0\d) MB\/min/);
  });

  it("fails on steady RSS growth with a level heap", () => {
    // 3 MB/min: +30 MB over the ten minutes, within the quarter comparison's allowance, not the slope's.
    const v = judgePlateau(
      run(
        600,
        () => 34,
        (t) => 120 + (t * 30) / 600 + 2 * noise(t),
      ),
      600,
    );
    assert.equal(v.ok, false);
    assert.equal(v.failures.length, 1, v.failures.join("; "));
    assert.match(v.failures[0] as string, /^RSS grows (2\.9\d|3\.0\d) MB\/min after 300 s/);
  });

  it("judges the RSS slope only after native memory settled, on runs long enough for it", () => {
    // Native warm-up: +25 MB over the first 5 minutes, then level.
    const settling = (t: number) => 100 + 25 * Math.min(1, t / 300) + noise(t);
    const long = judgePlateau(
      run(600, () => 34, settling),
      600,
    );
    assert.ok(long.ok, long.failures.join("; "));
    assert.ok(Math.abs(long.rssSlopeMbPerMin) < 0.5, `late RSS slope ${long.rssSlopeMbPerMin}`);
    const short = judgePlateau(
      run(180, () => 34, settling),
      180,
    );
    assert.ok(short.ok, short.failures.join("; "));
    assert.ok(Number.isNaN(short.rssSlopeMbPerMin), "a 3-minute run is not judged on the RSS slope");
  });

  it("fails on too few readings rather than passing them", () => {
    const v = judgePlateau(
      run(600, () => 34).filter((s) => s.t < 100),
      600,
    );
    assert.equal(v.ok, false);
    assert.match(v.failures.join("\n"), /too few samples/);
  });
});
