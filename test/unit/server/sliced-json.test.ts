import assert from "node:assert/strict";
import { test } from "node:test";
import { slicedJson } from "../../../src/server/sliced-json.js";

async function read(stream: AsyncIterable<unknown>): Promise<{ text: string; chunks: number }> {
  let text = "";
  let chunks = 0;
  for await (const c of stream) {
    text += String(c);
    chunks++;
  }
  return { text, chunks };
}

test("slicedJson writes exactly what JSON.stringify writes, whatever the slicing", async () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ i, v: [i / 3, -i, 1e-7], s: `é"\\${i}` }));
  const present = (x: (typeof items)[number]) => ({ n: x.i, v: x.v, s: x.s, u: undefined });
  const expected = JSON.stringify({ entries: items.map(present), next_after: "e_9", more: null });
  for (const sliceMs of [0, 2, 10_000]) {
    const { text } = await read(slicedJson("entries", items, present, { next_after: "e_9", more: null }, sliceMs));
    assert.equal(text, expected, `sliceMs ${sliceMs}`);
  }
  assert.equal((await read(slicedJson("entries", [], present, { next_after: null }))).text, '{"entries":[],"next_after":null}');
  assert.equal((await read(slicedJson("xs", [1, 2], (x) => x, {}))).text, '{"xs":[1,2]}');
});

test("slicedJson hands the event loop back between slices", async () => {
  // Each item costs ~1 ms to present; with 0-ms slices every item is its own slice and a turn passes between them.
  const items = Array.from({ length: 20 }, (_, i) => i);
  const busy = (x: number) => {
    const until = performance.now() + 1;
    while (performance.now() < until);
    return x;
  };
  let turns = 0;
  let on = true;
  const tick = () => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const { text, chunks } = await read(slicedJson("xs", items, busy, {}, 0));
  on = false;
  assert.equal(text, JSON.stringify({ xs: items }));
  assert.equal(chunks, 20);
  assert.ok(turns >= 19, `the loop turned ${turns} times during 20 slices`);
  // One slice for everything when the budget is never reached.
  assert.equal((await read(slicedJson("xs", items, (x) => x, {}, 10_000))).chunks, 1);
});
