/**
 * A JSON object keyed by client strings (regimes, phases, domains), with no prototype: a key
 * such as `__proto__`, `constructor` or `toString` is an own property like any other, never a
 * member of Object.prototype read or replaced. JSON.stringify and the response serializers read
 * it as any object. Keys keep the order of `entries`; a repeated key keeps its last value.
 * Counting and lookups by client strings belong in a `Map`; this is only the shape of an answer.
 */
export function jsonRecord<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** A Map's entries by key, code-unit order (a stable order for answers). */
export function sortedByKey<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
