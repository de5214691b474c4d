import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsearchVectorIndex } from "../../../src/adapters/ann/usearch-vector-index.js";

const DIM = 64;
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random());

/** Waits a given number of turns of the event loop (replies from the worker arrive in between). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Issue 16 item 10c. The index worker was stopped with `worker.terminate()`; a native usearch
 * call that touched JavaScript afterwards (a search or remove building its answer, `contains`,
 * the addon loading) threw a C++ Napi::Error outside any handler, and the whole process aborted
 * (`terminate called after throwing an instance of 'Napi::Error'`). Before the fix this file
 * aborted within its first few iterations: the failure is the process dying, not an assertion.
 */
describe("UsearchVectorIndex.close", () => {
  it("never interrupts a native call: closed 30 times while searches, re-adds and removes are queued, or while the worker starts", async () => {
    const started = Date.now();
    const unexpected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const index = new UsearchVectorIndex({ dimensions: DIM });
      if (i % 4 === 0) {
        // Closed at once, then after a few turns: while the worker thread still loads the addon.
        await turns(i % 8);
        await index.close();
        continue;
      }
      const outcomes: Promise<string>[] = [];
      const track = (p: Promise<unknown>) =>
        outcomes.push(
          p.then(
            () => "done",
            (e: Error) => e.message,
          ),
        );
      const keys = Array.from({ length: 500 }, (_, k) => k + 1);
      track(index.add("ns", keys, random(keys.length * DIM)));
      for (let j = 0; j < 200; j++) {
        track(index.search("ns", random(DIM), 20));
        track(index.add("ns", [1 + (j % 500)], random(DIM))); // a re-add: `contains` and `remove` in the worker
        track(index.remove("ns", [1 + ((j * 7) % 500)]));
      }
      // Close after a varying number of answers, while the rest are still queued in the worker.
      await outcomes[1 + ((i * 37) % 300)];
      await turns(i % 5);
      await index.close();
      const settled = await Promise.all(outcomes);
      // Checked after the loop, so that every iteration closes an index (the abort is what this guards against).
      unexpected.push(...settled.filter((s) => s !== "done" && !/closed/.test(s)));
      if (!settled.includes("done")) unexpected.push(`iteration ${i}: nothing answered before the close`);
      await index.search("ns", random(DIM), 1).then(
        () => unexpected.push(`iteration ${i}: a search after close was answered`),
        () => {},
      );
    }
    assert.deepEqual([...new Set(unexpected)], [], "every request was answered, or refused as closed");
    assert.ok(Date.now() - started < 50_000, `took ${Date.now() - started} ms`);
  });

  it("answers every request made before close, and close is idempotent", async () => {
    const index = new UsearchVectorIndex({ dimensions: 8 });
    await index.add(
      "ns",
      [1, 2],
      Float32Array.from({ length: 16 }, (_, i) => (i % 8 === i >> 3 ? 1 : 0)),
    );
    const hits = await index.search(
      "ns",
      Float32Array.from({ length: 8 }, (_, i) => (i === 1 ? 1 : 0)),
      1,
    );
    assert.equal(hits[0]?.key, 2);
    await Promise.all([index.close(), index.close()]);
    await index.close();
  });
});

describe("UsearchVectorIndex scheduling", () => {
  it("a search overtakes queued adds and waits for one chunk of an add at most (one user's bulk writes do not hold another's query)", async () => {
    const index = new UsearchVectorIndex({ dimensions: DIM });
    try {
      await index.add("small", [1, 2, 3], random(3 * DIM));
      const order: string[] = [];
      // Two big adds to another namespace (hundreds of ms of inserts), then a search of the small one.
      const vectors = new Map<number, Float32Array>();
      const bulk = (from: number) => {
        const v = random(1_500 * DIM);
        vectors.set(from, v);
        return index.add(
          "bulk",
          Array.from({ length: 1_500 }, (_, k) => from + k),
          v,
        );
      };
      const adds = [bulk(1).then(() => order.push("add 1")), bulk(10_001).then(() => order.push("add 2"))];
      const t0 = performance.now();
      const hits = await index.search("small", random(DIM), 3);
      const searchMs = performance.now() - t0;
      order.push("search");
      await Promise.all(adds);
      assert.equal(hits.length, 3, "the search is answered from the small namespace");
      assert.deepEqual(order, ["search", "add 1", "add 2"], "the search did not wait for the adds queued before it");
      // Each add of 1,500 vectors takes far longer than this; a chunk of 8 well under it.
      assert.ok(searchMs < 150, `the search waited ${searchMs.toFixed(1)} ms`);
      // Both adds are complete: vectors from each one's first, middle and last chunk are found as themselves.
      for (const [from, v] of vectors)
        for (const k of [0, 700, 1_499]) {
          const [hit] = await index.search("bulk", v.subarray(k * DIM, (k + 1) * DIM), 1);
          assert.equal(hit?.key, from + k);
        }
    } finally {
      await index.close();
    }
  });

  it("a search never overtakes a remove: a key removed before the search is not found", async () => {
    const index = new UsearchVectorIndex({ dimensions: 8 });
    try {
      const one = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : 0));
      await index.add("ns", [7], one);
      void index.add(
        "ns",
        Array.from({ length: 500 }, (_, k) => 100 + k),
        random(500 * 8),
      );
      const removed = index.remove("ns", [7]);
      const hits = await index.search("ns", one, 600);
      await removed;
      assert.ok(!hits.some((h) => h.key === 7), "the removed key is not among the hits");
      assert.equal(hits.length, 500, "the adds queued before the remove ran before the search");
    } finally {
      await index.close();
    }
  });
});
