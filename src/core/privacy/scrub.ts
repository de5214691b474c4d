import { runSync } from "../platform/paced.js";
import { isB64, isHex } from "./chars.js";
import { detect, HEX_RUN_MIN, type Span } from "./detectors.js";
import type { IdentifierDirectory } from "./directory.js";
import { displayForm, displaySteps, type Folded, foldedAlnum, foldSteps } from "./normalize.js";

/** Largest public text, in UTF-16 code units after normalization (SPEC §4.2 step 7): the entry content cap. */
export const PUBLIC_TEXT_MAX = 64 * 1024;

/** Whose text is being scrubbed: their weak identifiers match too (strong ones of everybody always do). */
export interface Writer {
  /** The writer's user (weak identifiers of this user match as whole tokens). */
  readonly userId: string | null;
}

/** Chunks decoded (base64, base64url, hex, percent-encoding) are at most this long. */
const DECODE_MAX = 4096;
const DECODE_MIN = 6;
/** Characters decoded between two yields of the decoding pass (a token also counts `DECODE_TOKEN_COST`). */
const DECODE_SLICE = 512;
const DECODE_TOKEN_COST = 16;

/**
 * The deterministic scrubber of public text (SPEC §4.2 steps 1–3): normalize, match every
 * known identifier (normalized, separator-free and decoded forms), run the generic detectors,
 * replace what they found, then match identifiers once more on the result (a replacement can
 * join pieces of an identifier). A generator: it yields between slices of work, so a caller can
 * pace it on the event loop (`runPaced`) or run it at once (`runSync`) for short texts. Linear
 * in the text's length.
 */
export function* scrubSteps(text: string, directory: IdentifierDirectory, writer: Writer): Generator<void, string> {
  const users = writer.userId === null ? [] : [writer.userId];
  const display = (yield* displaySteps(text.length > PUBLIC_TEXT_MAX ? text.slice(0, PUBLIC_TEXT_MAX) : text)).slice(0, PUBLIC_TEXT_MAX);
  yield;
  const folded = yield* foldSteps(display);
  const spans: Span[] = idSpans(folded, yield* directory.match(folded, users));
  spans.push(...(yield* detect(display)));
  spans.push(...splitHexRuns(display));
  yield;
  spans.push(...(yield* decodedSpans(display, directory, users)));
  const once = applySpans(display, spans);
  yield;
  const again = yield* foldSteps(once);
  const late = yield* directory.match(again, users);
  return late.length === 0 ? once : applySpans(once, idSpans(again, late));
}

/**
 * Only the identifier pass of `scrubSteps` (idempotent): for text scrubbed earlier, matched
 * again against identifiers learnt since (a lethe copy at its publication).
 */
export function* identifierSteps(text: string, directory: IdentifierDirectory, writer: Writer): Generator<void, string> {
  const users = writer.userId === null ? [] : [writer.userId];
  const display = (yield* displaySteps(text)).slice(0, PUBLIC_TEXT_MAX);
  const folded = yield* foldSteps(display);
  const found = yield* directory.match(folded, users);
  return found.length === 0 ? display : applySpans(display, idSpans(folded, found));
}

/** Scrubs a short text at once (structural values, metadata): see scrubSteps. */
export function scrubNow(text: string, directory: IdentifierDirectory, writer: Writer): string {
  return runSync(scrubSteps(text, directory, writer));
}

/** Whether a text holds anything the scrubber would hide (an identifier, or a generic redaction). */
export function holdsIdentifier(text: string, directory: IdentifierDirectory, writer: Writer): boolean {
  const display = displayForm(text);
  const folded = foldedAlnum(display);
  const users = writer.userId === null ? [] : [writer.userId];
  if (runSync(directory.match(folded, users)).length > 0) return true;
  if (runSync(detect(display)).some((s) => s.priority === 2 || significantDigits(display.slice(s.start, s.end)) >= 4)) return true;
  if (splitHexRuns(display).length > 0) return true;
  return runSync(decodedSpans(display, directory, users)).length > 0;
}

function significantDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function idSpans(f: Folded, matches: readonly { start: number; end: number }[]): Span[] {
  return matches.map((m) => ({
    start: f.origin[m.start] as number,
    end: f.originEnd[m.end - 1] as number,
    replacement: "[id]",
    priority: 2,
  }));
}

/**
 * Hex split into groups by single separators (`0x5290 8400 0985 …`, `abcd-ef01-…`): 2+ groups
 * of 4+ hex digits, 32+ digits in all, 6+ of them decimal (so English words made of a–f never
 * add up to one).
 */
function splitHexRuns(text: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isHex(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i > 1 && text[i - 2] === "0" && (text[i - 1] === "x" || text[i - 1] === "X") ? i - 2 : i;
    let total = 0;
    let digits = 0;
    let groups = 0;
    let end = i;
    let j = i;
    for (;;) {
      let k = j;
      while (k < text.length && isHex(text.charCodeAt(k))) {
        const c = text.charCodeAt(k);
        if (c >= 48 && c <= 57) digits++;
        k++;
      }
      if (k - j < 4) break;
      total += k - j;
      groups++;
      end = k;
      const sep = text[k];
      if (!(sep === " " || sep === "-" || sep === "_" || sep === "." || sep === ":") || !isHex(text.charCodeAt(k + 1))) break;
      j = k + 1;
    }
    if (groups >= 2 && total >= HEX_RUN_MIN && digits >= 6) out.push({ start, end, replacement: "[hex]", priority: 2 });
    i = Math.max(end, i + 1);
    while (i < text.length && isHex(text.charCodeAt(i))) i++;
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8");

/**
 * Whether bytes are well-formed UTF-8 — exactly what a fatal TextDecoder accepts — checked
 * without throwing: most tokens of ordinary text (any word of 6+ letters is a base64
 * candidate) decode to invalid UTF-8, and an exception per word cost a quarter of a 64 KiB
 * scrub (bench/scrub.ts). Exported for its test.
 */
export function isUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return false;
    // No overlong forms (E0, F0), no surrogates (ED), nothing past U+10FFFF (F4).
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    const second = b[i + 1] as number;
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= n; k++) {
      const x = b[i + k] as number;
      if (x < 0x80 || x > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}

/**
 * Tokens that decode (base64, base64url, hex, percent-encoding) to text holding a known
 * identifier or a long hex run are hidden whole.
 */
function* decodedSpans(text: string, directory: IdentifierDirectory, users: readonly string[]): Generator<void, Span[]> {
  const out: Span[] = [];
  let i = 0;
  // Decoding costs about the token's length: yield once DECODE_SLICE characters were decoded.
  let work = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (!(isB64(c) || c === 37)) {
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && (isB64(text.charCodeAt(j)) || text.charCodeAt(j) === 37)) j++;
    if (j - i >= DECODE_MIN && j - i <= DECODE_MAX) {
      const token = text.slice(i, j);
      // The token, and its pieces between `-`, `_`, `=` and `.` (an encoding glued into a slug: `ref-<base64>`).
      const pieces = [token, ...token.split(/[-_=.]/).filter((p) => p.length >= DECODE_MIN && p.length < token.length)];
      for (const p of pieces) {
        if (work >= DECODE_SLICE) {
          work = 0;
          yield;
        }
        work += p.length + DECODE_TOKEN_COST;
        if (decodings(p).some((decoded) => decodedHolds(decoded, directory, users))) {
          out.push({ start: i, end: j, replacement: "[encoded]", priority: 2 });
          break;
        }
      }
    }
    i = j;
  }
  return out;
}

function decodedHolds(decoded: string, directory: IdentifierDirectory, users: readonly string[]): boolean {
  const display = displayForm(decoded);
  if (runSync(directory.match(foldedAlnum(display), users)).length > 0) return true;
  let run = 0;
  for (let k = 0; k < display.length; k++) {
    run = isHex(display.charCodeAt(k)) ? run + 1 : 0;
    if (run >= HEX_RUN_MIN) return true;
  }
  return display.includes("@") && display.includes(".");
}

/** The readable texts a token decodes to (base64/base64url, hex, percent-encoding). */
function decodings(token: string): string[] {
  const out: string[] = [];
  const text = (bytes: Uint8Array) => {
    // Not UTF-8: not text.
    if (!isUtf8(bytes)) return;
    const s = UTF8.decode(bytes);
    let printable = 0;
    for (const ch of s) if (ch >= " " && ch !== "\u007f") printable++;
    if (s.length > 0 && printable >= s.length * 0.9) out.push(s);
  };
  if (token.includes("%")) {
    const bytes: number[] = [];
    for (let k = 0; k < token.length; k++) {
      if (token[k] === "%" && isHex(token.charCodeAt(k + 1)) && isHex(token.charCodeAt(k + 2))) {
        bytes.push(Number.parseInt(token.slice(k + 1, k + 3), 16));
        k += 2;
      } else bytes.push(token.charCodeAt(k) & 0xff);
    }
    text(Uint8Array.from(bytes));
    return out;
  }
  // Words of one case and no digit are prose, not encodings: base64 of text mixes cases, hex of text has digits.
  let upper = false;
  let lower = false;
  let digit = false;
  for (let k = 0; k < token.length; k++) {
    const c = token.charCodeAt(k);
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  if (!digit && !(upper && lower)) return out;
  const hex = token.startsWith("0x") || token.startsWith("0X") ? token.slice(2) : token;
  if (digit && hex.length % 2 === 0 && [...hex].every((ch) => isHex(ch.charCodeAt(0)))) {
    const bytes = new Uint8Array(hex.length / 2);
    for (let k = 0; k < bytes.length; k++) bytes[k] = Number.parseInt(hex.slice(k * 2, k * 2 + 2), 16);
    text(bytes);
  }
  let end = token.length;
  while (end > 0 && token[end - 1] === "=") end--;
  const b64 = token.slice(0, end).replace(/-/g, "+").replace(/_/g, "/");
  if (b64.length % 4 !== 1 && !b64.includes("=")) {
    try {
      const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
      text(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    } catch {
      // Not base64.
    }
  }
  return out;
}

/** Replaces spans in a text; overlapping spans merge, a redaction winning over a rewrite. */
export function applySpans(text: string, spans: readonly Span[]): string {
  if (spans.length === 0) return text;
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.priority - a.priority || b.end - a.end);
  const merged: Span[] = [];
  for (const s of sorted) {
    const last = merged.at(-1);
    if (last && s.start < last.end) {
      merged[merged.length - 1] = {
        start: last.start,
        end: Math.max(last.end, s.end),
        replacement: s.priority > last.priority ? s.replacement : last.replacement,
        priority: Math.max(last.priority, s.priority) as 1 | 2,
      };
    } else merged.push(s);
  }
  let out = "";
  let at = 0;
  for (const s of merged) {
    out += text.slice(at, s.start) + s.replacement;
    at = s.end;
  }
  return out + text.slice(at);
}
