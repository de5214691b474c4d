/** Encodings of the SQLite stores alone (the row codecs shared with PostgreSQL are in ../sql/). */

/**
 * A safe FTS5 query from free text: up to 32 distinct word tokens, each quoted, joined by OR
 * (BM25 ranks documents matching more and rarer terms higher). Undefined when no token.
 */
export function ftsQuery(text: string): string | undefined {
  const tokens = queryWords(text);
  return tokens.length ? tokens.map((t) => `"${t}"`).join(" OR ") : undefined;
}

/** The words of a free-text query that `ftsQuery` searches for: up to 32 distinct tokens. */
export function queryWords(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].slice(0, 32);
}
