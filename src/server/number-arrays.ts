import { randomBytes } from "node:crypto";

/*
 * Embeddings read without JSON.parse's per-number work. A 384-d embedding is ~4.5 KB of decimal
 * numbers, and JSON.parse converts each through V8's generic string-to-double path (~30 µs of the
 * event loop for one write, bench/writes.ts). `spliceNumberArrays` finds each `"embedding":[…]`
 * value in the raw body bytes, reads its numbers with a scanner over the bytes, and leaves the rest
 * of the body to the ordinary JSON parser with a placeholder string where each array was;
 * `restoreNumberArrays` then puts the arrays back in place of their placeholders.
 *
 * Why the result is JSON.parse's, exactly:
 * - In valid JSON the bytes `"embedding":` are always a key and its colon (the quote after
 *   `embedding` follows a letter, so it is not escaped: it closes a string, and a string followed
 *   by `:` is a key). The `[…]` after it is therefore that key's value; the scanner takes it only
 *   when it is a flat array of JSON numbers (the grammar of RFC 8259, whitespace included),
 *   otherwise the body is parsed as a whole as before.
 * - Replacing one value by another (a string) keeps the text valid, or invalid, exactly as it
 *   was, and gives the same structure; a body the parser refuses is parsed again whole, so its
 *   error is the one it always had.
 * - Numbers of at most 15 digits and no exponent are m / 10^k with m and 10^k exact
 *   doubles: one correctly rounded division, the double V8's parser gives. Others (an exponent,
 *   more digits) go through Number(), correctly rounded too (`1e999` is Infinity, as before,
 *   and refused by the schema).
 * - The placeholder is a random string of this process; each must be found exactly once where
 *   its array was, or the body is parsed whole.
 */

const KEY = Buffer.from('"embedding":');
/** A placeholder's prefix: random per process, so no body can hold one by chance or design. */
const PLACEHOLDER = `styx-array-${randomBytes(12).toString("hex")}-`;
/** Exact powers of ten (10^22 is the largest exact double power). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** A body with its number arrays taken out: the text to parse, and the arrays by placeholder. */
export interface SplicedBody {
  readonly text: string;
  readonly arrays: ReadonlyMap<string, number[]>;
}

/**
 * The body's text with every `"embedding":[numbers]` array replaced by a placeholder string, and
 * the arrays read; undefined when the body has none (or one that is not a flat array of numbers):
 * then the body is parsed whole.
 */
export function spliceNumberArrays(body: Buffer): SplicedBody | undefined {
  let at = body.indexOf(KEY);
  if (at < 0) return undefined;
  const arrays = new Map<string, number[]>();
  const parts: string[] = [];
  let from = 0;
  while (at >= 0) {
    let open = at + KEY.length;
    while (body[open] === 0x20 || body[open] === 0x0a || body[open] === 0x0d || body[open] === 0x09) open++;
    if (body[open] !== 0x5b) return undefined;
    const values: number[] = [];
    const end = readNumbers(body, open, values);
    if (end < 0) return undefined;
    const name = PLACEHOLDER + arrays.size;
    parts.push(body.toString("utf8", from, open), `"${name}"`);
    arrays.set(name, values);
    from = end;
    at = body.indexOf(KEY, end);
  }
  parts.push(body.toString("utf8", from));
  return { text: parts.join(""), arrays };
}

/**
 * Puts each array back where its placeholder is in the parsed `value`; false when a placeholder
 * was not found exactly once (never for a body `spliceNumberArrays` took apart: then parse it whole).
 */
export function restoreNumberArrays(value: unknown, arrays: ReadonlyMap<string, number[]>): boolean {
  let found = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (typeof c === "string") {
          const a = c.startsWith(PLACEHOLDER) ? arrays.get(c) : undefined;
          if (a) {
            v[i] = a;
            found++;
          }
        } else if (c !== null && typeof c === "object") stack.push(c);
      }
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const c = o[k];
      if (typeof c === "string") {
        const a = c.startsWith(PLACEHOLDER) ? arrays.get(c) : undefined;
        if (a) {
          o[k] = a;
          found++;
        }
      } else if (c !== null && typeof c === "object") stack.push(c);
    }
  }
  return found === arrays.size;
}

/**
 * Reads the JSON array of numbers starting at `open` (its `[`) into `out`; the index after its
 * `]`, or -1 when it is anything else (an element that is not a number, a syntax error). Past the
 * end of `b`, an index reads `undefined`, which no comparison below accepts.
 */
export function readNumbers(b: Uint8Array, open: number, out: number[]): number {
  let i = open + 1;
  let c = b[i] as number;
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i] as number;
  if (c === 0x5d) return i + 1;
  for (;;) {
    const start = i;
    const negative = c === 0x2d;
    if (negative) c = b[++i] as number;
    // m: the digits as an integer, exact while there are at most 15 of them (a leading zero of the integer part aside).
    let m = 0;
    let digits = 0;
    let decimals = 0;
    if (c === 0x30) c = b[++i] as number;
    else if (c > 0x30 && c <= 0x39) {
      do {
        m = m * 10 + (c - 0x30);
        digits++;
        c = b[++i] as number;
      } while (c >= 0x30 && c <= 0x39);
    } else return -1;
    if (c === 0x2e) {
      c = b[++i] as number;
      if (!(c >= 0x30 && c <= 0x39)) return -1;
      do {
        m = m * 10 + (c - 0x30);
        digits++;
        decimals++;
        c = b[++i] as number;
      } while (c >= 0x30 && c <= 0x39);
    }
    let v: number;
    if (c === 0x65 || c === 0x45) {
      c = b[++i] as number;
      if (c === 0x2b || c === 0x2d) c = b[++i] as number;
      if (!(c >= 0x30 && c <= 0x39)) return -1;
      do c = b[++i] as number;
      while (c >= 0x30 && c <= 0x39);
      v = Number(latin1(b, start, i));
    } else if (digits <= 15 && decimals <= 22) {
      v = decimals === 0 ? m : m / (POW10[decimals] as number);
      if (negative) v = -v;
    } else v = Number(latin1(b, start, i));
    out.push(v);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i] as number;
    if (c === 0x5d) return i + 1;
    if (c !== 0x2c) return -1;
    c = b[++i] as number;
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i] as number;
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("latin1");
}
