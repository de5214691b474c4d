import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { runPaced, runSync } from "../../../src/core/platform/paced.js";
import { PatternTrie } from "../../../src/core/privacy/matcher.js";

/** Every (start, end) match of any pattern, found the slow way. */
function naive(patterns: readonly string[], text: string): string[] {
  const out = new Set<string>();
  for (const pat of patterns) {
    if (pat.length === 0) continue;
    for (let i = 0; i + pat.length <= text.length; i++) if (text.startsWith(pat, i)) out.add(`${i}:${i + pat.length}`);
  }
  return [...out].sort();
}

function found(patterns: readonly string[], text: string, all = true, denseRoot = false): string[] {
  const trie = new PatternTrie({ denseRoot });
  for (const p of patterns) trie.add(p);
  const out = new Set<string>();
  runSync(trie.scan(text, (s, e) => out.add(`${s}:${e}`), all, 7));
  return [...out].sort();
}

describe("PatternTrie", () => {
  it("finds every occurrence of every pattern, overlapping ones included", () => {
    assert.deepEqual(found(["he", "she", "his", "hers"], "ushers"), naive(["he", "she", "his", "hers"], "ushers"));
    assert.deepEqual(found(["aa"], "aaaa"), ["0:2", "1:3", "2:4"]);
  });

  it("agrees with a naive search on random patterns and texts", () => {
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom("a", "b", "c", "d"), maxLength: 80 }),
        fc.boolean(),
        (pats, text, dense) => {
          assert.deepEqual(found(pats, text, true, dense), naive(pats, text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("stays exact while its arrays and its table of further children grow (thousands of branching patterns)", () => {
    const word = fc.string({ unit: fc.constantFrom(..."abcdefgh\u00e9\uffff"), minLength: 1, maxLength: 9 });
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 500, maxLength: 3000 }),
        fc.array(word, { maxLength: 40 }),
        fc.boolean(),
        (pats, parts, dense) => {
          const text = parts.join("x");
          assert.deepEqual(found(pats, text, true, dense), naive(pats, text));
        },
      ),
      { numRuns: 20 },
    );
  });

  it("reports only the longest pattern starting at a position unless asked for all", () => {
    assert.deepEqual(found(["ab", "abc", "bc"], "xabc", false), ["1:4", "2:4"]);
  });

  it("adds a pattern once, and costs only its length to add", () => {
    const t = new PatternTrie();
    assert.equal(t.add("carol"), true);
    assert.equal(t.add("carol"), false);
    assert.equal(t.add(""), false);
    assert.equal(t.size, 1);
  });

  it("yields between slices so a long scan can be paced", () => {
    let yields = 0;
    const t = new PatternTrie();
    t.add("x");
    const steps = t.scan("a".repeat(100), () => {}, false, 10);
    while (!steps.next().done) yields++;
    assert.equal(yields, 9);
  });

  it("hands the event loop back only once a slice of time has passed", async () => {
    let pauses = 0;
    function* many(): Generator<void, number> {
      for (let i = 0; i < 1000; i++) yield;
      return 7;
    }
    assert.equal(await runPaced(many(), async () => void pauses++, 60_000), 7);
    assert.equal(pauses, 2, "a generous slice: paused only twice, before the first step");
    pauses = 0;
    assert.equal(await runPaced(many(), async () => void pauses++, 0), 7);
    assert.equal(pauses, 1002, "no slice: paused at every yield");
  });
});
