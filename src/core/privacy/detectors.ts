import { isAsciiAlnum, isAsciiAlpha, isB58, isB64, isDigit, isHex, isLower, isSpace, isUpper, isWordChar } from "./chars.js";
import { hyphenatedIpv6, ipv4At, isIpv4, isIpv6 } from "./network.js";
import { amountBucket, amounts, CURRENCY, dateTimeAt, isIsoDate, isTimeOfDay, timeOf } from "./numbers.js";

/**
 * Generic detectors (SPEC §4.2 step 3) for what no directory can know: addresses, hex runs,
 * emails, URLs, handles, ENS names, IPs, phone numbers, key-shaped tokens, timestamps, dates and
 * amounts. They read the display form chunk by chunk (a chunk is a run of non-space
 * characters) with plain character loops — no regular expression runs over user text, so the
 * cost is linear in the text's length whatever it holds.
 */

/** A part of the display text to replace: [start, end) and what goes there. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
  /** Redactions (2) win over rewrites such as time or amount buckets (1) when spans overlap. */
  readonly priority: 1 | 2;
}

/** Hex runs at least this long are hidden (keys, hashes, addresses, glued or split). */
export const HEX_RUN_MIN = 32;
/** Tokens of base64/base64url characters at least this long that mix letters and digits are hidden as secrets. */
export const KEY_SHAPED_MIN = 20;

const OPENERS = new Set("([{<\"'`«“‘");
const CLOSERS = new Set(")]}>\"'`»”’.,;:!?");

/** A chunk of the display text: [start, end) without its surrounding punctuation. */
interface Chunk {
  readonly start: number;
  readonly end: number;
  /** The chunk before trimming (obfuscated emails use the brackets). */
  readonly rawStart: number;
  readonly rawEnd: number;
}

/** The chunks of a text, trimmed of surrounding punctuation. */
export function chunksOf(text: string): Chunk[] {
  const out: Chunk[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) break;
    const rawStart = i;
    while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
    let s = rawStart;
    let e = i;
    while (s < e && OPENERS.has(text[s] as string)) s++;
    while (e > s && CLOSERS.has(text[e - 1] as string)) e--;
    out.push({ start: s, end: e, rawStart, rawEnd: i });
  }
  return out;
}

/**
 * All generic spans of a display text. Yields about every 1,024 characters so a long text can be
 * scrubbed without holding the event loop.
 */
export function* detect(text: string): Generator<void, Span[]> {
  const spans: Span[] = [];
  const chunks = chunksOf(text);
  let work = 0;
  for (let k = 0; k < chunks.length; k++) {
    const c = chunks[k] as Chunk;
    // Yield once about WINDOW characters were looked at (and between windows of a long chunk below).
    work += c.end - c.start + 1;
    if (work >= WINDOW) {
      work = 0;
      yield;
    }
    if (c.end <= c.start) continue;
    const consumed = multiChunk(text, chunks, k, spans);
    if (consumed > 0) {
      k += consumed - 1;
      continue;
    }
    if (!singleChunk(text, c, spans, chunks[k - 1])) continue;
    // What was not the whole chunk is looked for inside it, window by window, yielding between windows.
    for (let w = c.start; w < c.end; w += WINDOW) {
      if (w > c.start) yield;
      runsInside(text, w, Math.min(c.end, w + WINDOW + OVERLAP), spans);
    }
  }
  return spans;
}

/**
 * Long chunks are searched inside in windows of this many characters, each reaching
 * `OVERLAP` past the next one's start: a run (a hex string, a number, an address) that starts in
 * a window and is shorter than the overlap is seen whole by it; longer runs are seen in pieces
 * long enough to be caught. Spans found twice merge when applied.
 */
const WINDOW = 1024;
const OVERLAP = 256;

/** Detectors spanning several chunks (obfuscated emails, phone numbers, spaced numbers, date + time); returns chunks consumed. */
function multiChunk(text: string, chunks: readonly Chunk[], k: number, spans: Span[]): number {
  const here = chunks[k] as Chunk;
  const next = chunks[k + 1];
  const c0 = text.charCodeAt(here.rawStart);
  // Cheap guards first: most chunks start none of these patterns.
  const nextLen = next ? next.rawEnd - next.rawStart : 0;
  const maybeAt = nextLen >= 1 && nextLen <= 4;
  const maybePhone = c0 === 43 || c0 === 40;
  const maybeNumber = isDigit(c0) && here.end - here.start <= 10;
  if (!maybeAt && !maybePhone && !maybeNumber) return 0;
  const word = (i: number) => {
    const c = chunks[i];
    return c ? text.slice(c.start, c.end).toLowerCase() : "";
  };
  const raw = (i: number) => {
    const c = chunks[i];
    return c ? text.slice(c.rawStart, c.rawEnd).toLowerCase() : "";
  };
  // x [at] y [dot] com — bracketed markers, or bare "at"/"dot" when both appear in order.
  const at = raw(k + 1);
  if (isAtMarker(at) && isEmailWord(word(k))) {
    let j = k + 2;
    let dots = 0;
    if (!isEmailWord(word(j))) return 0;
    while (isDotMarker(raw(j + 1)) && isEmailWord(word(j + 2))) {
      j += 2;
      dots++;
    }
    const bare = at === "at";
    if (dots > 0 || (!bare && word(k + 2).includes("."))) {
      spans.push({ start: (chunks[k] as Chunk).start, end: (chunks[j] as Chunk).end, replacement: "[email]", priority: 2 });
      return j - k + 1;
    }
  }
  // +1 415 555 0134, (415) 555-0134: a leading + or (area) and digit groups, 7–15 digits in all.
  const first = word(k);
  const firstRaw = raw(k);
  if ((firstRaw.startsWith("+") && isDigit(firstRaw.charCodeAt(1))) || /^\(\d{3}\)$/.test(firstRaw)) {
    let digits = 0;
    let j = k;
    for (; j < chunks.length && j < k + 6; j++) {
      const w = text.slice((chunks[j] as Chunk).rawStart, (chunks[j] as Chunk).rawEnd);
      if (!isPhoneGroup(w, j === k)) break;
      digits += countDigits(w);
    }
    if (j > k && digits >= 7 && digits <= 15) {
      spans.push({ start: (chunks[k] as Chunk).rawStart, end: (chunks[j - 1] as Chunk).end, replacement: "[phone]", priority: 2 });
      return j - k;
    }
  }
  // 1 234 567 — a number grouped by single spaces (groups of exactly three digits after the first).
  if (/^\d{1,3}$/.test(first) && /^\d{3}$/.test(word(k + 1)) && (chunks[k + 1] as Chunk).start - (chunks[k] as Chunk).end === 1) {
    let j = k + 1;
    while (/^\d{3}$/.test(word(j + 1)) && (chunks[j + 1] as Chunk).start - (chunks[j] as Chunk).end === 1) j++;
    const end = (chunks[j] as Chunk).end;
    const value = Number(text.slice((chunks[k] as Chunk).start, end).replace(/ /g, ""));
    spans.push({ start: (chunks[k] as Chunk).start, end, replacement: amountBucket(value), priority: 1 });
    return j - k + 1;
  }
  // 2026-12-06 08:57:39 — a date and a time of day: the hour.
  if (isIsoDate(first) && isTimeOfDay(word(k + 1))) {
    const hour = word(k + 1).slice(0, 2);
    spans.push({ start: (chunks[k] as Chunk).start, end: (chunks[k + 1] as Chunk).end, replacement: `${first} ${hour}:00`, priority: 1 });
    return 2;
  }
  return 0;
}

function isAtMarker(s: string): boolean {
  return s === "at" || s === "[at]" || s === "(at)" || s === "{at}" || s === "<at>" || s === "@";
}
function isDotMarker(s: string): boolean {
  return s === "dot" || s === "[dot]" || s === "(dot)" || s === "{dot}" || s === "<dot>" || s === ".";
}
function isEmailWord(w: string): boolean {
  if (w.length === 0 || w.length > 64) return false;
  for (let i = 0; i < w.length; i++) if (!isWordChar(w, i) && !"._+-".includes(w[i] as string)) return false;
  return true;
}

/** 415-555-0134, 415.555.0134, 1-415-555-0134: dash- or dot-separated digit groups ending 3-3-4. */
function isLocalPhone(chunk: string): boolean {
  if (chunk.length > 20) return false;
  const groups = chunk.split(chunk.includes("-") ? "-" : ".");
  if (groups.length < 3 || groups.length > 4 || !groups.every((g) => /^\d+$/.test(g))) return false;
  const [a, b, c] = groups.slice(-3).map((g) => g.length);
  return a === 3 && b === 3 && c === 4;
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) n++;
  return n;
}
function isPhoneGroup(w: string, first: boolean): boolean {
  if (w.length === 0 || w.length > 20) return false;
  let digits = 0;
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (!(c === 45 || c === 46 || c === 40 || c === 41 || (first && i === 0 && c === 43))) return false;
  }
  return digits > 0;
}

/** Detectors inside one chunk: one that covers the whole chunk wins; otherwise runs inside it (hex, key-shaped, amounts). */
/** The whole-chunk detectors; true when the chunk must still be searched inside. */
function singleChunk(text: string, c: Chunk, spans: Span[], previous: Chunk | undefined): boolean {
  // A lone short word with no digit, '@', ':' or '.' can be nothing but ordinary text: the common case, decided at once.
  if (c.end - c.start <= 3 && !hasSignal(text, c.start, c.end)) return false;
  const whole = wholeChunk(text, c, previous);
  if (whole === undefined) return true;
  spans.push({ start: c.start, end: c.end, replacement: whole.replacement, priority: whole.priority });
  return false;
}

/** Runs inside [s, e): hex runs, key-shaped runs, glued IPs/ENS/date-times/IPv6, amounts. */
function runsInside(text: string, s: number, e: number, spans: Span[]): void {
  const push = (start: number, end: number, replacement: string, priority: 1 | 2 = 2): void => {
    spans.push({ start, end, replacement, priority });
  };
  hexRuns(text, s, e, push);
  b64Runs(text, s, e, push);
  insideRuns(text, s, e, push);
  amounts(text, s, e, push);
}

/** What replaces a whole chunk (a URL, handle, email, ENS name, IP, phone, address, secret, time), if anything. */
function wholeChunk(text: string, c: Chunk, previous: Chunk | undefined): { replacement: string; priority: 1 | 2 } | undefined {
  const chunk = text.slice(c.start, c.end);
  const lower = chunk.toLowerCase();
  const redact = (replacement: string) => ({ replacement, priority: 2 as const });
  // The token after "Bearer" is a credential whatever its shape.
  if (previous && text.slice(previous.start, previous.end).toLowerCase() === "bearer" && chunk.length >= 8) return redact("[secret]");
  const url = urlOf(chunk);
  if (url !== undefined) return redact(url);
  if (chunk.length > 1 && chunk[0] === "@" && isHandle(chunk)) return redact("[handle]");
  const atIndex = chunk.indexOf("@");
  if (atIndex > 0 && isEmail(chunk, atIndex)) return redact("[email]");
  if (lower.length <= 512 && /\[at\]|\(at\)|\{at\}|<at>/.test(lower)) return redact("[email]");
  if (lower.endsWith(".eth") && lower.length > 4 && isDnsLabels(lower)) return redact("[ens]");
  // The shapes below start with a digit (IPv4, phones, times) or hold a colon (IPv6): most words are none.
  const digitFirst = isDigit(chunk.charCodeAt(0));
  if ((digitFirst && isIpv4(chunk)) || (chunk.includes(":") && isIpv6(chunk))) return redact("[ip]");
  if (digitFirst && isLocalPhone(chunk)) return redact("[phone]");
  if (lower.length <= 80 && (lower.startsWith("bc1") || lower.startsWith("tb1")) && /^(?:bc1|tb1)[02-9ac-hj-np-z]{11,71}$/.test(lower))
    return redact("[address]");
  if (isPrefixedSecret(lower)) return redact("[secret]");
  const time = digitFirst ? timeOf(chunk) : undefined;
  if (time !== undefined) return { replacement: time, priority: 1 };
  return undefined;
}

/** Whether a short chunk holds a character some detector looks for. */
function hasSignal(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c) || c === 64 || c === 58 || c === 46 || c === 37 || c > 127 || CURRENCY.has(text[i] as string)) return true;
  }
  return false;
}

/** `scheme://host` of a URL chunk (user info, port, path, query and fragment dropped); undefined when not a URL. */
function urlOf(chunk: string): string | undefined {
  const sep = chunk.indexOf("://");
  let scheme = "";
  let rest: string;
  if (sep > 0) {
    scheme = chunk.slice(0, sep).toLowerCase();
    if (!isAsciiAlpha(scheme.charCodeAt(0))) return undefined;
    for (let i = 1; i < scheme.length; i++) {
      const ch = scheme.charCodeAt(i);
      if (!(isAsciiAlnum(ch) || ch === 43 || ch === 45 || ch === 46)) return undefined;
    }
    rest = chunk.slice(sep + 3);
  } else if (chunk.toLowerCase().startsWith("www.") && chunk.length > 4) rest = chunk;
  else return undefined;
  let hostEnd = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === "/" || ch === "?" || ch === "#") {
      hostEnd = i;
      break;
    }
  }
  let host = rest.slice(0, hostEnd);
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.slice(at + 1);
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && !host.includes("]") && /^\d+$/.test(host.slice(colon + 1).slice(0, 8))) host = host.slice(0, colon);
  host = host.toLowerCase();
  if (host.length === 0) return undefined;
  if (isIpv4(host) || host.startsWith("[")) host = "[ip]";
  return scheme ? `${scheme}://${host}` : host;
}

function isHandle(chunk: string): boolean {
  if (chunk.length < 3 || chunk.length > 64) return false;
  for (let i = 1; i < chunk.length; i++) if (!isWordChar(chunk, i) && chunk[i] !== "_" && chunk[i] !== ".") return false;
  return true;
}

function isEmail(chunk: string, at: number): boolean {
  const domain = chunk.slice(at + 1);
  const dot = domain.lastIndexOf(".");
  if (dot <= 0 || dot >= domain.length - 2) return false;
  for (let i = 0; i < domain.length; i++) if (!isWordChar(domain, i) && domain[i] !== "." && domain[i] !== "-") return false;
  return true;
}

function isDnsLabels(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isWordChar(s, i) && s[i] !== "." && s[i] !== "-" && s[i] !== "_") return false;
  return true;
}

const SECRET_PREFIXES = [
  "styx_",
  "sk-",
  "sk_",
  "pk_",
  "pk-",
  "rk_",
  "ghp_",
  "gho_",
  "ghs_",
  "github_pat_",
  "xoxa-",
  "xoxb-",
  "xoxp-",
  "glpat-",
  "akia",
];

function isPrefixedSecret(lower: string): boolean {
  for (const p of SECRET_PREFIXES) {
    if (lower.startsWith(p) && lower.length >= p.length + 8) {
      for (let i = p.length; i < lower.length; i++) if (!isB64(lower.charCodeAt(i))) return false;
      return true;
    }
  }
  return false;
}

/**
 * Things glued into a longer token (`from-198.51.100.23`, `pay-x.eth-now`,
 * `2025-12-09-07-33-11`, `2001-db8-85a3-8a2e-370-7334`): IPv4 addresses, ENS names, date-times
 * (→ the hour) and IPv6 written with hyphens.
 */
function insideRuns(text: string, s: number, e: number, push: (a: number, b: number, r: string, p?: 1 | 2) => void): void {
  // An ENS name is looked for back to the last one found, and at most 255 characters (DNS): never quadratic.
  let floor = s;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c) && (i === s || !isDigit(text.charCodeAt(i - 1)))) {
      const ip = ipv4At(text, i, e);
      if (ip > 0) {
        push(i, ip, "[ip]");
        i = ip - 1;
        continue;
      }
      const dt = dateTimeAt(text, i, e);
      if (dt !== undefined) {
        push(i, dt.end, dt.hour, 1);
        i = dt.end - 1;
        continue;
      }
    }
    if (c === 46 && text.slice(i + 1, i + 4).toLowerCase() === "eth" && !(i + 4 < e && isAsciiAlnum(text.charCodeAt(i + 4)))) {
      let a = i;
      const stop = Math.max(floor, i - 255);
      while (a > stop && (isAsciiAlnum(text.charCodeAt(a - 1)) || text[a - 1] === "." || text[a - 1] === "-" || text[a - 1] === "_")) a--;
      if (a < i) push(a, i + 4, "[ens]");
      floor = i + 4;
    }
  }
  const v6 = hyphenatedIpv6(text, s, e);
  if (v6) push(v6.start, v6.end, "[ip]");
}

/** Runs of 32+ hex digits (with a leading 0x), wherever they sit in the chunk. */
function hexRuns(text: string, s: number, e: number, push: (a: number, b: number, r: string) => void): void {
  let i = s;
  while (i < e) {
    if (!isHex(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < e && isHex(text.charCodeAt(j))) j++;
    if (j - i >= HEX_RUN_MIN) {
      const prefixed = i - 2 >= s && text[i - 2] === "0" && (text[i - 1] === "x" || text[i - 1] === "X");
      const len = j - i;
      push(prefixed ? i - 2 : i, j, len === 40 ? "[address]" : len === 64 ? "[tx]" : "[hex]");
    }
    i = j;
  }
}

/**
 * Key-shaped runs: 20+ base64/base64url characters mixing letters and digits (and both cases,
 * below 32), or 20+ letters whose case changes at least every fourth pair (base64 that drew no digit),
 * or LETTER_RUN_MIN+ letters in a row: no word is that long, but lower-cased base64 that drew no
 * digit is (a structural value is lower-cased by the public grammar: the base64 of a wallet's
 * `0x…` text, 56 letters without a digit, came through so in a CI run of the corpus).
 */
/** Letters in a row from which a run is an encoding, not a word (the longest dictionary words have 45). */
const LETTER_RUN_MIN = 48;

function b64Runs(text: string, s: number, e: number, push: (a: number, b: number, r: string) => void): void {
  let i = s;
  while (i < e) {
    if (!isB64(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    let digits = 0;
    let upper = 0;
    let lower = 0;
    let b58 = true;
    // Case changes between neighbouring letters: about every other pair in random base64, rare in words.
    let changes = 0;
    let lastCase = 0;
    while (j < e && isB64(text.charCodeAt(j))) {
      const ch = text.charCodeAt(j);
      if (isDigit(ch)) digits++;
      else if (isUpper(ch)) {
        upper++;
        if (lastCase === 2) changes++;
        lastCase = 1;
      } else if (isLower(ch)) {
        lower++;
        if (lastCase === 1) changes++;
        lastCase = 2;
      }
      if (!isB58(ch)) b58 = false;
      j++;
    }
    const len = j - i;
    const letters = upper + lower;
    const keyShaped =
      len >= KEY_SHAPED_MIN &&
      letters > 0 &&
      ((digits > 0 && ((upper > 0 && lower > 0) || len >= 32)) ||
        (letters >= KEY_SHAPED_MIN && changes * 4 >= letters) ||
        letters >= LETTER_RUN_MIN);
    if (keyShaped) {
      push(i, j, b58 && len >= 26 && len <= 44 ? "[address]" : "[secret]");
    }
    i = j;
  }
}
