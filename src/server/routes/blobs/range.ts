import type { ByteRange } from "../../../core/platform/blob-store.js";

/**
 * What a `Range` header asks of a blob of `size` bytes: `undefined` to serve it whole, a
 * range (inclusive ends, clamped to the blob), or `"unsatisfiable"` (416). One range is
 * supported: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Other units, several ranges and malformed
 * values are ignored and the whole blob is served, as RFC 9110 §14.2 allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  const first = m?.[1] ?? "";
  const last = m?.[2] ?? "";
  if (!m || (first === "" && last === "")) return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (end < start && last !== "") return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}
