import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackgroundSample } from "../../../src/core/platform/background-sample.js";
import { ManualClock } from "../../../src/core/platform/clock.js";

describe("BackgroundSample", () => {
  it("reads in the background at most once per period and one at a time, serving the last value meanwhile", async () => {
    const clock = new ManualClock(0);
    let reads = 0;
    let release: () => void = () => {};
    const sample = new BackgroundSample(
      () => {
        reads++;
        return new Promise<number>((r) => {
          release = () => r(reads * 10);
        });
      },
      { everyMs: 60_000, now: () => clock.now(), onError: () => {} },
    );
    assert.equal(sample.latest, undefined);
    sample.due();
    sample.due();
    assert.equal(reads, 1, "one reading at a time");
    release();
    await sample.refresh();
    assert.equal(sample.latest, 10);
    clock.advance(59_999);
    sample.due();
    assert.equal(reads, 1, "not due within the period");
    clock.advance(1);
    sample.due();
    assert.equal(reads, 2);
    assert.equal(sample.latest, 10, "the last value until the reading ends");
    release();
    await sample.refresh();
    assert.equal(sample.latest, 20);
  });

  it("keeps the last value when a reading fails, and reports the failure", async () => {
    const errors: unknown[] = [];
    let fail = false;
    const sample = new BackgroundSample(async () => (fail ? Promise.reject(new Error("gone")) : 7), {
      everyMs: 0,
      now: () => 0,
      onError: (e) => errors.push(e),
    });
    await sample.refresh();
    fail = true;
    await sample.refresh();
    assert.equal(sample.latest, 7);
    assert.equal(errors.length, 1);
  });
});
