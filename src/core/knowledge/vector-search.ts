import type { VectorHit, VectorIndex } from "./vector-index.js";

/** Options of VectorSearch. */
export interface VectorSearchOptions {
  readonly dimensions: number;
  /** Most vectors sent to the index in one batch. Default 64: a search queued behind a batch waits for all of it. */
  readonly batchSize?: number;
  /**
   * How long a batch smaller than `batchSize` waits for more vectors before it goes to the index
   * (ms; default 0: at once). Writes arriving slower than the index absorbs them otherwise go one
   * message each, and a message to a worker thread and its answer cost the event loop more than
   * the vector's own work (bench/writes.ts). Waiting vectors are searchable meanwhile (the overlay).
   */
  readonly gatherMs?: number;
}

/**
 * Keeps writes from waiting on the ANN index: a vector is searchable the moment `put` returns,
 * because vectors not yet in the index sit in an exact-scan overlay until the index has them.
 * Batches go to the index one at a time per namespace, in order.
 */
export class VectorSearch {
  readonly #index: VectorIndex;
  readonly #dim: number;
  readonly #batchSize: number;
  readonly #gatherMs: number;
  /** Not yet confirmed by the index, by namespace. */
  readonly #overlay = new Map<string, Map<number, Float32Array>>();
  /** Waiting to be sent, by namespace. */
  readonly #queue = new Map<string, number[]>();
  readonly #flushing = new Map<string, Promise<void>>();
  #failures = 0;
  /** Called with every vector `put` here (the macronode tells the other gateways). */
  onPut: ((namespace: string, key: number, vector: Float32Array) => void) | undefined;
  /** Called with every `remove` here. */
  onRemove: ((namespace: string, keys: readonly number[]) => void) | undefined;

  constructor(index: VectorIndex, opts: VectorSearchOptions) {
    this.#index = index;
    this.#dim = opts.dimensions;
    this.#batchSize = opts.batchSize ?? 64;
    this.#gatherMs = opts.gatherMs ?? 0;
  }

  /** Makes `vector` (normalised) searchable under `key` now; the index catches up in the background. */
  put(namespace: string, key: number, vector: Float32Array): void {
    this.restore(namespace, key, vector);
    this.onPut?.(namespace, key, vector);
  }

  /** Like `put`, for a vector every process already has or will load (a rebuild, another gateway's put): not reported. */
  restore(namespace: string, key: number, vector: Float32Array): void {
    const overlay = this.#overlay.get(namespace) ?? new Map<number, Float32Array>();
    overlay.set(key, vector);
    this.#overlay.set(namespace, overlay);
    const q = this.#queue.get(namespace) ?? [];
    q.push(key);
    this.#queue.set(namespace, q);
    this.#kick(namespace);
  }

  /** Forgets keys (expired or deleted entries). */
  async remove(namespace: string, keys: readonly number[]): Promise<void> {
    this.onRemove?.(namespace, keys);
    await this.forget(namespace, keys);
  }

  /** Like `remove`, for keys another gateway removed: not reported. */
  async forget(namespace: string, keys: readonly number[]): Promise<void> {
    const overlay = this.#overlay.get(namespace);
    for (const k of keys) overlay?.delete(k);
    await this.#flushing.get(namespace);
    await this.#index.remove(namespace, keys);
  }

  /** Up to `k` most similar keys from the index and the overlay, best first. */
  async search(namespace: string, query: Float32Array, k: number): Promise<VectorHit[]> {
    const fromIndex = await this.#index.search(namespace, query, k);
    const overlay = this.#overlay.get(namespace);
    if (!overlay || overlay.size === 0) return fromIndex;
    const merged = new Map<number, number>();
    for (const h of fromIndex) merged.set(h.key, h.similarity);
    for (const [key, v] of overlay) {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += (v[i] as number) * (query[i] as number);
      merged.set(key, s);
    }
    return [...merged]
      .map(([key, similarity]) => ({ key, similarity }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k);
  }

  /** Resolves when everything put so far is in the index. */
  async flush(): Promise<void> {
    while (this.#flushing.size > 0) await Promise.all(this.#flushing.values());
  }

  /** Vectors waiting for the index (a gauge for metrics and readiness). */
  get backlog(): number {
    let n = 0;
    for (const o of this.#overlay.values()) n += o.size;
    return n;
  }

  /** Batches the index refused (it stays in the overlay, still searchable exactly). */
  get failures(): number {
    return this.#failures;
  }

  #kick(namespace: string): void {
    if (this.#flushing.has(namespace)) return;
    const run = (async () => {
      for (;;) {
        const q = this.#queue.get(namespace);
        if (!q || q.length === 0) break;
        // `q` stays this namespace's queue: puts meanwhile land in it.
        if (q.length < this.#batchSize && this.#gatherMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#gatherMs));
        const keys = q.splice(0, this.#batchSize);
        const overlay = this.#overlay.get(namespace);
        const live = keys.filter((k) => overlay?.has(k));
        const vectors = new Float32Array(live.length * this.#dim);
        const sent = live.map((k, i) => {
          const v = overlay?.get(k) as Float32Array;
          vectors.set(v, i * this.#dim);
          return [k, v] as const;
        });
        try {
          await this.#index.add(namespace, live, vectors);
          // Only drop what is unchanged: a key put again meanwhile keeps its newer vector.
          for (const [k, v] of sent) if (overlay?.get(k) === v) overlay.delete(k);
        } catch {
          this.#failures++;
        }
      }
    })().finally(() => {
      this.#flushing.delete(namespace);
      if ((this.#queue.get(namespace)?.length ?? 0) > 0) this.#kick(namespace);
    });
    this.#flushing.set(namespace, run);
  }
}
