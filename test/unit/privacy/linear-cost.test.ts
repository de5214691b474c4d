import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PUBLIC_TEXT_MAX, scrubNow } from "../../../src/core/privacy/scrub.js";

/**
 * The scrubber's cost grows linearly with its input (SPEC §4.2 step 7): for adversarial inputs
 * (the shapes that make backtracking regexes explode, and the detectors' own triggers), a text
 * 16 times longer costs at most 64 times as much (quadratic work would cost ~256 times). Costs
 * are this process's CPU time, the best of several runs, compared within one run.
 */
const UNITS = [
  "a@",
  "a.",
  "a ",
  "a",
  "%4",
  "0x",
  "1,",
  "1_",
  "1.",
  "1e",
  "9 ",
  "$1 ",
  "+1 ",
  "[at] ",
  "x [at] y [dot] ",
  "c a r o l ",
  "\u200b",
  "ｃ",
  "Y2Fyb2w= ",
  "6361726f6c ",
  "http://a",
  "@a.",
  "a-",
  ":",
  "::1 ",
  "é",
  "ﷺ",
];

function directory(): IdentifierDirectory {
  const d = new IdentifierDirectory();
  const ids: { kind: "golem"; value: string; userId: string }[] = [];
  // Many identifiers sharing prefixes with the inputs (the matcher must not care).
  for (let i = 0; i < 2_000; i++) ids.push({ kind: "golem", value: `${"a".repeat(1 + (i % 40))}${i}`, userId: "u" });
  ids.push({ kind: "golem", value: "carol", userId: "carol" });
  d.add(ids);
  return d;
}

function fill(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** This process's CPU time in ms (other processes' load does not count, unlike wall time). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function best(run: () => void, times: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) {
    const t = cpuMs();
    run();
    min = Math.min(min, cpuMs() - t);
  }
  return Math.max(min, 0.2);
}

describe("the scrubber's cost", () => {
  const d = directory();
  const writer = { userId: "carol" };
  const ratio = (unit: string) => {
    const small = fill(unit, PUBLIC_TEXT_MAX / 16);
    const large = fill(unit, PUBLIC_TEXT_MAX);
    scrubNow(small, d, writer);
    scrubNow(large, d, writer);
    return best(() => scrubNow(large, d, writer), 5) / best(() => scrubNow(small, d, writer), 9);
  };

  for (const unit of UNITS) {
    it(`grows linearly for ${JSON.stringify(unit)} repeated to the cap`, () => {
      const r = ratio(unit);
      assert.ok(r < 64, `16× the input cost ${r.toFixed(1)}× the time`);
    });
  }

  it("grows linearly for random mixtures of the adversarial shapes", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...UNITS), { minLength: 1, maxLength: 6 }), (parts) => {
        const r = ratio(parts.join(""));
        assert.ok(r < 64, `${JSON.stringify(parts)}: 16× the input cost ${r.toFixed(1)}× the time`);
      }),
      { numRuns: 15 },
    );
  });

  it("caps what it reads: a text past the cap costs what the cap costs", () => {
    const out = scrubNow("word ".repeat(PUBLIC_TEXT_MAX), d, writer);
    assert.ok(out.length <= PUBLIC_TEXT_MAX);
  });
});
