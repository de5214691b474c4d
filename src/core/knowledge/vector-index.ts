/** A nearest-neighbour hit: the entry's key and its cosine similarity to the query. */
export interface VectorHit {
  readonly key: number;
  readonly similarity: number;
}

/**
 * Approximate nearest-neighbour search, one index per namespace, over L2-normalised vectors.
 * A derived, rebuildable cache of the entry store — never the source of truth.
 * Obligations: `add` resolves once the vectors are searchable; calls for one namespace are
 * applied in order, except that a search may run before adds not yet resolved (a caller that
 * needs an add's vectors found awaits it: VectorSearch keeps them in its exact overlay until
 * then), never before a remove; a key added twice keeps the latest vector; nothing here may
 * block the event loop for long (builds and batch inserts run off the main thread), and a
 * search does not wait for a bulk add (one user's writes must not hold another's query).
 */
export interface VectorIndex {
  add(namespace: string, keys: readonly number[], vectors: Float32Array): Promise<void>;
  remove(namespace: string, keys: readonly number[]): Promise<void>;
  /** Up to `k` nearest keys, most similar first. An unknown namespace answers []. */
  search(namespace: string, query: Float32Array, k: number): Promise<VectorHit[]>;
  close(): Promise<void>;
}
