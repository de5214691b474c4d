import { dot } from "../../core/knowledge/scoring.js";
import type { VectorHit, VectorIndex } from "../../core/knowledge/vector-index.js";

/**
 * Exact (brute-force) cosine search in process memory. The reference the ANN index is
 * measured against, and a fine index for small namespaces and tests; O(n·d) per query.
 */
export class ExactVectorIndex implements VectorIndex {
  readonly #spaces = new Map<string, Map<number, Float32Array>>();
  readonly #dim: number;

  constructor(dimensions: number) {
    this.#dim = dimensions;
  }

  async add(namespace: string, keys: readonly number[], vectors: Float32Array): Promise<void> {
    const space = this.#spaces.get(namespace) ?? new Map<number, Float32Array>();
    for (const [i, k] of keys.entries()) space.set(k, vectors.slice(i * this.#dim, (i + 1) * this.#dim));
    this.#spaces.set(namespace, space);
  }

  async remove(namespace: string, keys: readonly number[]): Promise<void> {
    const space = this.#spaces.get(namespace);
    for (const k of keys) space?.delete(k);
  }

  async search(namespace: string, query: Float32Array, k: number): Promise<VectorHit[]> {
    return exactTopK(this.#spaces.get(namespace)?.entries() ?? [], query, k);
  }

  async close(): Promise<void> {
    this.#spaces.clear();
  }
}

/** The `k` most similar of `(key, vector)` pairs, best first (a bounded insertion sort: k is small). */
export function exactTopK(items: Iterable<[number, Float32Array]>, query: Float32Array, k: number): VectorHit[] {
  const top: VectorHit[] = [];
  for (const [key, v] of items) {
    const similarity = dot(query, v);
    if (top.length === k && similarity <= (top[k - 1] as VectorHit).similarity) continue;
    let i = top.length < k ? top.length : k - 1;
    top[i] = { key, similarity };
    while (i > 0 && (top[i - 1] as VectorHit).similarity < similarity) {
      top[i] = top[i - 1] as VectorHit;
      top[i - 1] = { key, similarity };
      i--;
    }
  }
  return top;
}
