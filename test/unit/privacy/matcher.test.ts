import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AhoCorasick, runSync } from "../../../src/core/privacy/matcher.js";

/** Every (pattern, start, end) match, found the slow way. */
function naive(patterns: readonly string[], text: string): string[] {
  const out: string[] = [];
  for (const [p, pat] of patterns.entries()) {
    if (pat.length === 0 || patterns.indexOf(pat) !== p) continue;
    for (let i = 0; i + pat.length <= text.length; i++) if (text.startsWith(pat, i)) out.push(`${p}:${i}:${i + pat.length}`);
  }
  return out.sort();
}

function found(patterns: readonly string[], text: string, longestOnly = false): string[] {
  const out: string[] = [];
  runSync(new AhoCorasick(patterns).scan(text, (p, s, e) => out.push(`${p}:${s}:${e}`), longestOnly, 7));
  return out.sort();
}

describe("AhoCorasick", () => {
  it("finds every occurrence of every pattern, overlapping ones included", () => {
    assert.deepEqual(found(["he", "she", "his", "hers"], "ushers"), naive(["he", "she", "his", "hers"], "ushers"));
    assert.deepEqual(found(["aa"], "aaaa"), ["0:0:2", "0:1:3", "0:2:4"]);
  });

  it("agrees with a naive search on random patterns and texts", () => {
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom("a", "b", "c", "d"), maxLength: 80 }),
        (pats, text) => {
          assert.deepEqual(found(pats, text), naive(pats, text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reports only the longest pattern ending at a position when asked", () => {
    assert.deepEqual(found(["abc", "bc", "c"], "xabc", true), ["0:1:4"]);
  });

  it("yields between slices so a long scan can be paced", () => {
    let yields = 0;
    const steps = new AhoCorasick(["x"]).scan("a".repeat(100), () => {}, true, 10);
    while (!steps.next().done) yields++;
    assert.equal(yields, 9);
  });
});
