import { StyxError } from "../platform/errors.js";

/**
 * Turns text into vectors for text-only writes and queries (SPEC §4.5). Optional: without an
 * embedder, golems send their own embeddings, and text-only retrieval is lexical.
 *
 * Obligations of every implementation:
 * - `embed(texts)` answers exactly one vector per text, in the order of `texts`
 *   (answer `i` is the embedding of `texts[i]`), however the work is batched or reordered upstream;
 * - every vector is a fresh `Float32Array` of exactly `dimensions` finite numbers with unit L2
 *   norm — implementations pass each upstream vector through `normalize` below, so callers may
 *   use a plain dot product as the cosine;
 * - a text the model gives no direction (a zero vector, or one with a non-finite component:
 *   `1e999` in the JSON) is answered `null`, not a failure: the text cannot be embedded however
 *   often it is sent, so the caller refuses it with a 400 naming it (`STYX_VALIDATION`);
 * - `embed([])` answers `[]` without any remote call;
 * - the same text embeds to the same vector for the life of the embedder (a change of model is a
 *   change of embedder, and the vector index is rebuilt);
 * - every failure is a `StyxError`: `STYX_VALIDATION` for input it will never accept (an empty
 *   text), `STYX_EMBEDDER_FAILED` for an unreachable, slow, refusing or malformed upstream —
 *   never a partial answer, and never a message carrying a credential.
 */
export interface Embedder {
  /** Length of every vector `embed` answers (STYX_EMBED_DIM). */
  readonly dimensions: number;
  /** One unit vector per non-empty text, in input order; null for a text the model gives no direction. */
  embed(texts: string[]): Promise<(Float32Array | null)[]>;
}

/**
 * L2-normalises `v` into a new Float32Array (the input is never modified). Throws
 * `STYX_VALIDATION` for an empty, all-zero or non-finite vector, which has no direction.
 * Scales by the largest component first, so huge or tiny (subnormal) values neither overflow
 * nor underflow: 384 × 1e308 is the unit vector of that direction (summing the squares first
 * gave Infinity, and the vector was stored as zeros), 384 × 1e-200 too (its squares were 0,
 * and it was refused as zero).
 */
export function normalize(v: Float32Array | readonly number[]): Float32Array {
  const n = v.length;
  if (n === 0) throw new StyxError("STYX_VALIDATION", "An embedding must have at least one dimension.");
  let max = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new StyxError("STYX_VALIDATION", `An embedding must hold finite numbers (component ${i} is not).`);
    }
    const a = Math.abs(x);
    if (a > max) max = a;
  }
  if (max === 0) throw new StyxError("STYX_VALIDATION", "An embedding must not be all zeros.");
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = (v[i] as number) / max;
    sum += s * s;
  }
  const norm = Math.sqrt(sum);
  const out = new Float32Array(n);
  // Two divisions, not one multiplication by 1/(max·norm), which overflows for subnormal max.
  let check = 0;
  for (let i = 0; i < n; i++) {
    const x = (v[i] as number) / max / norm;
    out[i] = x;
    check += (out[i] as number) ** 2;
  }
  // The largest component is at least 1/√n, so this holds for every finite non-zero input; checked
  // anyway, because a vector stored as zeros or NaN is found by no search and breaks every cosine.
  if (!(Math.abs(check - 1) < 1e-3))
    throw new StyxError("STYX_VALIDATION", "An embedding must have a direction (it normalises to nothing).");
  return out;
}
