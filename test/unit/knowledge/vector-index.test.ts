import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsearchVectorIndex } from "../../../src/adapters/ann/usearch-vector-index.js";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import type { VectorHit, VectorIndex } from "../../../src/core/knowledge/vector-index.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { describeVectorIndexContract, unitVector } from "../../../src/testing/contracts/vector-index.contract.js";

describeVectorIndexContract("exact", (dim) => new ExactVectorIndex(dim));
describeVectorIndexContract("usearch (worker thread)", (dim) => new UsearchVectorIndex({ dimensions: dim }));

describe("VectorSearch", () => {
  it("makes a vector searchable before the index has it, and hands it over in order", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const inner = new ExactVectorIndex(8);
    // An index that holds every add until released: the overlay must answer meanwhile.
    const slow: VectorIndex = {
      add: async (ns, keys, v) => {
        await gate;
        await inner.add(ns, keys, v);
      },
      remove: (ns, keys) => inner.remove(ns, keys),
      search: (ns, q, k) => inner.search(ns, q, k),
      close: () => inner.close(),
    };
    const vs = new VectorSearch(slow, { dimensions: 8 });
    vs.put("ns", 5, unitVector(5, 8));
    const before: VectorHit[] = await vs.search("ns", unitVector(5, 8), 3);
    assert.equal(before[0]?.key, 5);
    assert.equal(vs.backlog, 1);
    release();
    await vs.flush();
    assert.equal(vs.backlog, 0);
    assert.equal((await inner.search("ns", unitVector(5, 8), 1))[0]?.key, 5);
  });

  it("with gatherMs, vectors put one turn apart go to the index in one batch, searchable while they wait", async () => {
    const inner = new ExactVectorIndex(8);
    const batches: number[] = [];
    const counting: VectorIndex = {
      add: async (ns, keys, v) => {
        batches.push(keys.length);
        await inner.add(ns, keys, v);
      },
      remove: (ns, keys) => inner.remove(ns, keys),
      search: (ns, q, k) => inner.search(ns, q, k),
      close: () => inner.close(),
    };
    const turn = () => new Promise((r) => setImmediate(r));
    const gathered = new VectorSearch(counting, { dimensions: 8, gatherMs: 50 });
    for (let k = 0; k < 6; k++) {
      gathered.put("ns", k + 1, unitVector(k, 8));
      await turn();
    }
    assert.equal((await gathered.search("ns", unitVector(3, 8), 1))[0]?.key, 4, "found in the overlay while it waits");
    await gathered.flush();
    assert.deepEqual(batches, [6]);
    assert.equal(gathered.backlog, 0);

    // Without it (the default), each waiting vector goes as soon as the index is free.
    batches.length = 0;
    const eager = new VectorSearch(counting, { dimensions: 8 });
    for (let k = 0; k < 6; k++) {
      eager.put("other", k + 1, unitVector(k, 8));
      await turn();
    }
    await eager.flush();
    assert.ok(batches.length > 1, `several batches: ${batches.join(", ")}`);
  });
});
