import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { VectorIndex } from "../../core/knowledge/vector-index.js";

/** A seeded unit vector (deterministic across runs). */
export function unitVector(seed: number, dim: number): Float32Array {
  let x = seed * 2654435761 || 1;
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    v[i] = (x / 2 ** 32) * 2 - 1;
    n += (v[i] as number) ** 2;
  }
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) * inv;
  return v;
}

function batch(seeds: number[], dim: number): Float32Array {
  const out = new Float32Array(seeds.length * dim);
  seeds.forEach((s, i) => {
    out.set(unitVector(s, dim), i * dim);
  });
  return out;
}

/** The behaviour every VectorIndex adapter must show. */
export function describeVectorIndexContract(name: string, make: (dim: number) => VectorIndex): void {
  describe(`VectorIndex contract: ${name}`, () => {
    const dim = 32;
    const index = make(dim);
    after(() => index.close());

    it("finds a stored vector as its own nearest neighbour with similarity ≈ 1", async () => {
      const keys = Array.from({ length: 200 }, (_, i) => i + 1);
      await index.add("ns-a", keys, batch(keys, dim));
      const hits = await index.search("ns-a", unitVector(42, dim), 5);
      assert.equal(hits[0]?.key, 42);
      assert.ok(Math.abs((hits[0]?.similarity ?? 0) - 1) < 1e-2);
      assert.ok(hits.every((h, i) => i === 0 || (hits[i - 1]?.similarity ?? 0) >= h.similarity));
    });

    it("keeps namespaces apart and answers [] for an unknown one", async () => {
      await index.add("ns-b", [7], batch([9999], dim));
      assert.deepEqual(
        (await index.search("ns-b", unitVector(42, dim), 5)).map((h) => h.key),
        [7],
      );
      assert.deepEqual(await index.search("nowhere", unitVector(1, dim), 5), []);
    });

    it("answers at most k hits, fewer when the namespace holds fewer", async () => {
      await index.add("ns-k", [1, 2, 3], batch([1, 2, 3], dim));
      assert.equal((await index.search("ns-k", unitVector(2, dim), 2)).length, 2);
      assert.deepEqual((await index.search("ns-k", unitVector(2, dim), 10)).map((h) => h.key).sort(), [1, 2, 3]);
    });

    it("applies the calls of one namespace in the order they were made", async () => {
      const pending = [
        index.add("ns-o", [1], batch([40], dim)),
        index.add("ns-o", [1], batch([41], dim)),
        index.add("ns-o", [2], batch([42], dim)),
        index.remove("ns-o", [2]),
      ];
      await Promise.all(pending);
      const hits = await index.search("ns-o", unitVector(41, dim), 5);
      assert.deepEqual(
        hits.map((h) => h.key),
        [1],
      );
      assert.ok(Math.abs((hits[0]?.similarity ?? 0) - 1) < 1e-2, "the later vector of key 1");
    });

    it("replaces the vector of a key added again, and forgets removed keys", async () => {
      await index.add("ns-c", [1, 2], batch([10, 20], dim));
      await index.add("ns-c", [1], batch([30], dim));
      assert.equal((await index.search("ns-c", unitVector(30, dim), 1))[0]?.key, 1);
      await index.remove("ns-c", [1]);
      assert.deepEqual(
        (await index.search("ns-c", unitVector(30, dim), 5)).map((h) => h.key),
        [2],
      );
    });
  });
}
