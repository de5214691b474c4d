/**
 * Row codecs shared by the SQLite and PostgreSQL adapters. Both schemas use the same column
 * names and encodings (JSON as text, float32 vectors and hypervectors as bytes: a BLOB in
 * SQLite, a `bytea` in PostgreSQL, a Buffer from either driver), so each row maps to its
 * domain object once, in this folder. What the drivers return differently is normalised here:
 * booleans are 0/1 from SQLite and true/false from PostgreSQL.
 */

/** A row as a driver returns it, keyed by column name. */
export type SqlRow = Record<string, unknown>;

/** A boolean column: SQLite's 0/1 or PostgreSQL's true/false. */
export function sqlBool(v: unknown): boolean {
  return v === 1 || v === true;
}

/** A float32 vector as little-endian bytes (or null). */
export function toBytes(v: Float32Array | null): Buffer | null {
  return v === null ? null : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Bytes back to a float32 vector that is aligned and owns its memory: a view of the Buffer when
 * the Buffer alone spans its ArrayBuffer (better-sqlite3 allocates one per blob), else a copy
 * (a slice of a shared pool or of a larger read). A query reads 40–80 of these; the copy was
 * one more 1.5 KiB allocation each at 384 dimensions.
 */
export function fromBytes(b: Buffer | null): Float32Array | null {
  if (b === null || b === undefined) return null;
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength % 4 === 0) return new Float32Array(b.buffer);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/** A hypervector as bytes (or null). */
export function hvBytes(hv: Uint8Array | null): Buffer | null {
  return hv ? Buffer.from(hv.buffer, hv.byteOffset, hv.byteLength) : null;
}

/** Equal-length vectors end to end in one array. */
export function concatVectors(vecs: readonly Float32Array[]): Float32Array {
  const dim = vecs[0]?.length ?? 0;
  const out = new Float32Array(dim * vecs.length);
  for (const [i, v] of vecs.entries()) out.set(v, i * dim);
  return out;
}
