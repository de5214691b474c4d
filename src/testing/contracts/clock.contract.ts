import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Clock } from "../../core/platform/clock.js";

/** The behaviour every Clock must show; `make` returns a clock nobody else moves. */
export function describeClockContract(name: string, make: () => Clock): void {
  describe(`Clock contract: ${name}`, () => {
    it("tells the time as whole milliseconds since the Unix epoch", () => {
      const now = make().now();
      assert.ok(Number.isSafeInteger(now), `${now} is a safe integer`);
      assert.ok(now > Date.UTC(2020, 0, 1) && now < Date.UTC(2200, 0, 1), `${new Date(now).toISOString()} is a plausible date`);
    });

    it("never goes back between two reads", () => {
      const clock = make();
      let last = clock.now();
      for (let i = 0; i < 1000; i++) {
        const t = clock.now();
        assert.ok(t >= last, `${t} after ${last}`);
        last = t;
      }
    });
  });
}
