import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { runSync } from "../../../src/core/platform/paced.js";
import { displayForm, displaySteps } from "../../../src/core/privacy/normalize.js";

/**
 * Characters that compose, decompose or vanish under NFKC around piece boundaries: combining
 * marks, halfwidth katakana and their voicing marks (U+FF9E composes with the kana before it),
 * Hangul jamo (L+V+T compose into a syllable), syllables, fullwidth ASCII, ideographs,
 * ligatures, zero-width and control characters, surrogate pairs.
 */
const NASTY = [..."aeAZ09 .-\n\t", "\u0300", "\u0301", "\u0308", "\u0338", "\u0327", "\uff76", "\uff9e", "\uff9f", "\u304b", "\u3099"];
NASTY.push(
  "\u1100",
  "\u1161",
  "\u11a8",
  "\uac00",
  "\uff21",
  "\uff41",
  "\u4e00",
  "\ufb01",
  "\u200b",
  "\u2060",
  "\u0007",
  "\ud835\udc00",
  "\u00e9",
  "\u0391",
);

describe("displaySteps", () => {
  it("joins its pieces into exactly displayForm of the whole text", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...NASTY), { maxLength: 6000 }), (chars) => {
        const text = chars.join("");
        assert.equal(runSync(displaySteps(text)), displayForm(text));
      }),
      { numRuns: 300 },
    );
  });

  it("yields between pieces of a long text, and keeps a composition across a would-be boundary whole", () => {
    let yields = 0;
    const steps = displaySteps("a".repeat(10_000));
    while (!steps.next().done) yields++;
    assert.ok(yields >= 4, `yielded ${yields} times`);
    // A voiced halfwidth kana straddling the first piece's nominal end still composes.
    const text = `${"a".repeat(2047)}\uff76\uff9e${"b".repeat(100)}`;
    assert.equal(runSync(displaySteps(text)), displayForm(text));
    assert.ok(displayForm(text).includes("\u30ac"));
  });
});
