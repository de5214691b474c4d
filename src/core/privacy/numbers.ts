import { isDigit, isWordChar } from "./chars.js";

/** Amounts, epochs and times of the generic detectors (SPEC §4.2 step 3): buckets and hours. */

const HOUR = 3_600_000;

/** A time rounded down to its hour, as `YYYY-MM-DDTHH:00Z`. */
export function hourIso(ms: number): string {
  return `${new Date(Math.floor(ms / HOUR) * HOUR).toISOString().slice(0, 13)}:00Z`;
}

/** Three digits at `i` not followed by a fourth (a thousands group). */
export function isGroupOfThree(text: string, i: number, e: number): boolean {
  return (
    i + 3 <= e &&
    isDigit(text.charCodeAt(i)) &&
    isDigit(text.charCodeAt(i + 1)) &&
    isDigit(text.charCodeAt(i + 2)) &&
    !(i + 3 < e && isDigit(text.charCodeAt(i + 3)))
  );
}

/** Currency signs an amount may start with. */
export const CURRENCY = new Set("$€£¥₿Ξ₹₩");
/** Multipliers glued to a number (12k, 3.5M, 2bn). */
const MULTIPLIER = new Map([
  ["k", 1e3],
  ["m", 1e6],
  ["mm", 1e6],
  ["b", 1e9],
  ["bn", 1e9],
]);

/**
 * Exact amounts → order-of-magnitude buckets (`1e3-1e4`), units kept: `$1,234.56`, `1_234_567`,
 * `1.2345e6`, `42069usdc`, `12k`, wei. Kept as they are: small whole numbers (< 10), years
 * (1900–2100), percentages, versions (`1.2.3`), and numbers glued after letters (part of a word).
 */
export function amounts(text: string, s: number, e: number, push: (a: number, b: number, r: string, p: 1 | 2) => void): void {
  let i = s;
  while (i < e) {
    const ch = text.charCodeAt(i);
    const startsNumber = isDigit(ch) || (CURRENCY.has(text[i] as string) && i + 1 < e && isDigit(text.charCodeAt(i + 1)));
    // Short numbers glued to a word (`eth2`, `bot-42`, `v1.2`) are part of it; 4+ digits are an amount wherever they sit.
    const glued =
      i > s &&
      (isWordChar(text, i - 1) || ".,_".includes(text[i - 1] as string) || (text[i - 1] === "-" && i - 2 >= s && isWordChar(text, i - 2)));
    if (!startsNumber || (glued && digitRun(text, i, e) < 4)) {
      i++;
      continue;
    }
    const bucket = bucketLength(text, i, e);
    if (bucket > 0) {
      // Already a bucket (`1e3-1e4`): scrubbing twice changes nothing.
      i += bucket;
      continue;
    }
    const start = i;
    let currency = false;
    if (!isDigit(ch)) {
      currency = true;
      i++;
    }
    let digits = "";
    let grouped = false;
    let decimal = false;
    let exponent = "";
    let dots = 0;
    while (i < e) {
      const c = text.charCodeAt(i);
      if (isDigit(c)) digits += text[i];
      else if ((c === 44 || c === 95) && digits.length > 0 && !decimal && isGroupOfThree(text, i + 1, e)) {
        grouped = true;
      } else if (c === 46 && i + 1 < e && isDigit(text.charCodeAt(i + 1))) {
        dots++;
        if (dots > 1) break;
        decimal = true;
        digits += ".";
      } else break;
      i++;
    }
    if (dots > 1) {
      // A version or a dotted identifier: skip the whole dotted run.
      while (i < e && (isDigit(text.charCodeAt(i)) || text[i] === ".")) i++;
      continue;
    }
    if ((text[i] === "e" || text[i] === "E") && i + 1 < e) {
      let j = i + 1;
      if (text[j] === "+" || text[j] === "-") j++;
      let k = j;
      while (k < e && isDigit(text.charCodeAt(k))) k++;
      if (k > j && k - j <= 3) {
        exponent = text.slice(i + 1, k);
        i = k;
      }
    }
    // A glued unit or multiplier: letters right after the number.
    let u = i;
    while (u < e && isWordChar(text, u)) u++;
    const unit = text.slice(i, u).toLowerCase();
    let value = Number(digits) * (exponent ? 10 ** Number(exponent) : 1);
    const mult = MULTIPLIER.get(unit);
    if (mult !== undefined) value *= mult;
    const percent = text[i] === "%";
    const whole = !decimal && !exponent && mult === undefined;
    const epoch =
      whole && !currency && !grouped && unit === "" && (digits.length === 10 || digits.length === 13) ? epochMs(digits) : undefined;
    if (epoch !== undefined) {
      push(start, u, hourIso(epoch), 1);
      i = Math.max(u, i + 1);
      continue;
    }
    const keep =
      !Number.isFinite(value) ||
      value === 0 ||
      percent ||
      (whole && !currency && !grouped && value < 10) ||
      (whole && !currency && !grouped && unit === "" && digits.length === 4 && value >= 1900 && value <= 2100);
    if (!keep) {
      const rest = mult !== undefined ? "" : unit.length > 0 ? text.slice(i, u) : "";
      push(start, u, rest ? `${amountBucket(value)} ${rest}` : amountBucket(value), 1);
    }
    i = Math.max(u, i + 1);
  }
}

/** How many digits run from `i`. */
export function digitRun(text: string, i: number, e: number): number {
  let j = i;
  while (j < e && isDigit(text.charCodeAt(j))) j++;
  return j - i;
}

/** An epoch of seconds (10 digits) or milliseconds (13) between 2001 and 2099, in ms; undefined otherwise. */
export function epochMs(digits: string): number | undefined {
  const ms = digits.length === 10 ? Number(digits) * 1000 : Number(digits);
  return ms >= 1e12 && ms < 4.1e12 ? ms : undefined;
}

/** The length of an amount bucket (`1e3-1e4`, `1e-2-1e-1`) starting at `i`, or 0. */
function bucketLength(text: string, i: number, e: number): number {
  const one = (at: number): number => {
    if (text[at] !== "1" || text[at + 1] !== "e") return 0;
    let j = at + 2;
    if (text[j] === "-") j++;
    const d = j;
    while (j < e && isDigit(text.charCodeAt(j))) j++;
    return j > d ? j - at : 0;
  };
  const a = one(i);
  if (a === 0 || text[i + a] !== "-") return 0;
  const b = one(i + a + 1);
  return b === 0 ? 0 : a + 1 + b;
}

/** An order-of-magnitude bucket for an amount: 1234.5 → `1e3-1e4`, 0.05 → `1e-2-1e-1`. */
export function amountBucket(value: number): string {
  const k = Math.floor(Math.log10(Math.abs(value)));
  return `1e${k}-1e${k + 1}`;
}

/** An ISO date-time or time of day → the hour; an epoch of seconds (10 digits) or ms (13) → its hour. */
export function timeOf(chunk: string): string | undefined {
  if (/^\d{10}$|^\d{13}$/.test(chunk)) {
    const ms = epochMs(chunk);
    return ms === undefined ? undefined : hourIso(ms);
  }
  if (chunk.length >= 13 && chunk.length <= 35 && isIsoDate(chunk.slice(0, 10)) && (chunk[10] === "T" || chunk[10] === "t")) {
    const ms = Date.parse(chunk.toUpperCase());
    if (Number.isFinite(ms)) return hourIso(ms);
  }
  if (isTimeOfDay(chunk)) return `${chunk.slice(0, 2)}:00`;
  return undefined;
}

export function isIsoDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s);
}

export function isTimeOfDay(s: string): boolean {
  return /^[0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?$/.test(s.length <= 20 ? s : "");
}

/** `YYYY-MM-DD` followed by a time of day (`T`, `-`, `_` or a space, then hours and minutes by `:` or `-`) at `i`: its hour. */
export function dateTimeAt(text: string, i: number, e: number): { end: number; hour: string } | undefined {
  if (i + 16 > e || digitRun(text, i, e) !== 4 || text[i + 4] !== "-" || text[i + 7] !== "-") return undefined;
  const [y, mo, d, h, mi] = [
    text.slice(i, i + 4),
    text.slice(i + 5, i + 7),
    text.slice(i + 8, i + 10),
    text.slice(i + 11, i + 13),
    text.slice(i + 14, i + 16),
  ];
  const sep = text[i + 10]?.toLowerCase();
  if (!(sep === "t" || sep === "-" || sep === "_" || sep === " ") || !(text[i + 13] === ":" || text[i + 13] === "-")) return undefined;
  if (
    ![mo, d, h, mi].every((x) => /^\d\d$/.test(x)) ||
    Number(mo) < 1 ||
    Number(mo) > 12 ||
    Number(d) < 1 ||
    Number(d) > 31 ||
    Number(h) > 23 ||
    Number(mi) > 59
  )
    return undefined;
  let end = i + 16;
  if ((text[end] === ":" || text[end] === "-") && digitRun(text, end + 1, e) === 2) end += 3;
  if (text[end] === "." && digitRun(text, end + 1, e) > 0) end += 1 + digitRun(text, end + 1, e);
  if (text[end] === "z" || text[end] === "Z") end++;
  return { end, hour: `${y}-${mo}-${d}T${h}:00Z` };
}
