/** Encodings shared by the SQLite stores. */

/** A float32 vector as a little-endian blob (or null). */
export function toBlob(v: Float32Array | null): Buffer | null {
  return v === null ? null : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A blob back to a float32 vector (copied, so it is aligned and owns its memory). */
export function fromBlob(b: Buffer | null): Float32Array | null {
  if (b === null || b === undefined) return null;
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/**
 * A safe FTS5 query from free text: up to 32 distinct word tokens, each quoted, joined by OR
 * (BM25 ranks documents matching more and rarer terms higher). Undefined when no token.
 */
export function ftsQuery(text: string): string | undefined {
  const tokens = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].slice(0, 32);
  return tokens.length ? tokens.map((t) => `"${t}"`).join(" OR ") : undefined;
}
