import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { makeAjv } from "../../../src/protocol/json-rules.js";

/** maxLength / minLength: the same answers and errors as Ajv's own keywords, whatever the string's characters. */
describe("string length limits", () => {
  const stock = new Ajv({ allErrors: false, strict: false });
  const ours = [makeAjv(false), makeAjv(true)];
  const astral = "\u{1F600}";
  const pieces = ["a", "é", astral, "\ud800", "\udc00", "\ud800\ud800", "中"];
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const strings = ["", "a", astral, `${astral}${astral}`, "\ud800", "\udc00\ud800"];
  for (let i = 0; i < 3_000; i++) strings.push(Array.from({ length: next(12) }, () => pieces[next(pieces.length)]).join(""));

  it("answers as Ajv does, with Ajv's errors, for every limit around the strings' lengths", () => {
    for (const limit of [0, 1, 2, 3, 4, 5, 6, 8, 11, 16]) {
      for (const keyword of ["maxLength", "minLength"]) {
        const schema = { type: "object", properties: { s: { type: "string", [keyword]: limit } } };
        const want = stock.compile(schema);
        for (const a of ours) {
          const got = a.compile(schema);
          for (const s of strings) {
            const doc = { s };
            assert.equal(got(doc), want(doc), `${keyword} ${limit} on ${JSON.stringify(s)}`);
            assert.deepEqual(got.errors ?? null, want.errors ?? null);
          }
        }
      }
    }
  });

  it("refuses 65,537 characters under maxLength 65,536, and takes 65,536 astral characters (131,072 code units)", () => {
    const check = makeAjv(false).compile({ type: "string", maxLength: 65_536 });
    assert.equal(check("a".repeat(65_537)), false);
    assert.equal(check("a".repeat(65_536)), true);
    assert.equal(check(astral.repeat(65_536)), true);
    assert.equal(check(`${astral.repeat(65_536)}a`), false);
  });
});
