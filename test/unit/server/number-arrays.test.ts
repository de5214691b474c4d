import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { readNumbers, restoreNumberArrays, spliceNumberArrays } from "../../../src/server/number-arrays.js";
import { registerJsonParser } from "../../../src/server/validation.js";

/** The body as the parser reads it: spliced, parsed, restored; or undefined when it is parsed whole. */
function viaSplice(text: string): unknown {
  const spliced = spliceNumberArrays(Buffer.from(text));
  if (!spliced) return undefined;
  const value = JSON.parse(spliced.text);
  assert.ok(restoreNumberArrays(value, spliced.arrays), "every array found again");
  return value;
}

/** Deep equality that tells -0 from 0 (assert.deepStrictEqual uses Object.is for numbers). */
function sameAsJsonParse(text: string): void {
  const got = viaSplice(text);
  assert.notEqual(got, undefined, `spliced: ${text.slice(0, 80)}`);
  assert.deepStrictEqual(got, JSON.parse(text), text.slice(0, 200));
}

/** A seeded generator (xorshift), so a failure repeats. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A number as clients write it: toPrecision, String, toFixed, exponents, integers, -0. */
function numberText(rand: () => number): string {
  const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
  switch (Math.floor(rand() * 8)) {
    case 0:
      return x.toPrecision(1 + Math.floor(rand() * 21));
    case 1:
      return String(x);
    case 2:
      return Math.abs(x) < 1e21 ? x.toFixed(Math.floor(rand() * 20)) : String(x);
    case 3:
      return x.toExponential(Math.floor(rand() * 20)).replace("e+", rand() < 0.5 ? "E" : "e+");
    case 4:
      return String(Math.round(x * 1e6));
    case 5:
      return rand() < 0.5 ? "-0" : "0.0";
    case 6:
      return `${Math.floor(rand() * 10)}.${"0".repeat(Math.floor(rand() * 25))}${Math.floor(rand() * 1e9)}`;
    default:
      return Math.fround(x).toString();
  }
}

describe("embedding arrays read from the body's bytes", () => {
  it("give exactly JSON.parse's numbers, whatever way they are written", () => {
    const rand = rng(22);
    for (let n = 0; n < 400; n++) {
      const nums = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => numberText(rand));
      const sep = rand() < 0.3 ? ", " : ",";
      const colon = rand() < 0.3 ? ": " : ":";
      sameAsJsonParse(`{"golem_id":"g1","embedding"${colon}[${nums.join(sep)}],"content":"x"}`);
    }
  });

  it("give the same value for every array of a batch, empty arrays and whitespace included", () => {
    sameAsJsonParse('{"entries":[{"embedding":[1,2.5,-0]},{"embedding":[ ]},{"embedding": [ 0.1 ,\n\t-2e-3\r ] }]}');
    sameAsJsonParse('{"embedding":[0.1],"metadata":{"embedding":[3]},"other":["embedding",1]}');
  });

  it('give the same value when the bytes `"embedding":` end another key or sit in a string', () => {
    sameAsJsonParse('{"my_embedding":[1,2],"embedding":[3]}');
    sameAsJsonParse('{"x\\"embedding":[1,2]}');
    sameAsJsonParse('{"content":"a \\"embedding\\":[1,2] b","embedding":[0.5]}');
    sameAsJsonParse('{"content":"say \\\\","embedding":[7]}');
  });

  it("leave to the whole parse an array that is not flat numbers, or not JSON", () => {
    for (const arr of [
      "[1,]",
      "[01]",
      "[1.]",
      "[.5]",
      "[+1]",
      "[1e]",
      "[1 2]",
      '["a"]',
      "[[1]]",
      "[null]",
      "[NaN]",
      "[1",
      "[-]",
      "[1.2.3]",
    ]) {
      assert.equal(spliceNumberArrays(Buffer.from(`{"embedding":${arr}}`)), undefined, arr);
    }
    assert.equal(spliceNumberArrays(Buffer.from('{"embedding":"text"}')), undefined);
    assert.equal(spliceNumberArrays(Buffer.from('{"content":"no vector here"}')), undefined);
  });

  it("read numbers past double range as JSON.parse does (1e999 is Infinity, for the schema to refuse)", () => {
    const out: number[] = [];
    const text = "[1e999,-1e999,1e-400,123456789012345678901234567890,0.30000000000000004,9007199254740993]";
    assert.equal(readNumbers(Buffer.from(text), 0, out), text.length);
    assert.deepStrictEqual(out, JSON.parse(text));
    assert.deepStrictEqual(out.slice(0, 2), [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it("are found only once each: a placeholder moved or lost fails the restore", () => {
    const spliced = spliceNumberArrays(Buffer.from('{"embedding":[1]}'));
    assert.ok(spliced);
    assert.equal(restoreNumberArrays({ other: "x" }, spliced.arrays), false);
  });
});

describe("the JSON body parser with embedding arrays", () => {
  async function post(payload: string): Promise<{ status: number; body: unknown }> {
    const app = Fastify();
    registerJsonParser(app);
    app.post("/", async (req) => ({ got: req.body }));
    try {
      const res = await app.inject({ method: "POST", url: "/", headers: { "content-type": "application/json" }, payload });
      return { status: res.statusCode, body: res.json() };
    } finally {
      await app.close();
    }
  }

  it("hands the route the value JSON.parse gives", async () => {
    const body = '{"a":"é ☃","embedding":[0.1,-0.25,3e-5],"entries":[{"embedding":[1,2]}]}';
    assert.deepStrictEqual(await post(body), { status: 200, body: { got: JSON.parse(body) } });
  });

  it("refuses a broken body, or a `__proto__` key, beside a well-formed embedding as it always did", async () => {
    const broken = await post('{"embedding":[0.1,0.2],"content":"x"');
    assert.equal(broken.status, 400);
    const proto = await post('{"embedding":[0.1,0.2],"__proto__":{"x":1}}');
    assert.equal(proto.status, 400);
    assert.match(JSON.stringify(proto.body), /__proto__/);
  });
});
