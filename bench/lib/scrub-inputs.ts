/**
 * Inputs of bench/scrub.ts: the identifiers of a directory of realistic size, the adversarial
 * texts at the content cap (the shapes of test/unit/privacy/linear-cost.test.ts and the issue's
 * reproducer) and ordinary prose with a few identifiers and numbers.
 */
import type { KnownIdentifier } from "../../src/core/privacy/directory.js";
import { rng } from "./common.js";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A strong generated id: `<prefix>_` and 22 base64url characters (as newId makes them). */
function strongId(rand: () => number, prefix: string): string {
  let s = `${prefix}_`;
  for (let i = 0; i < 22; i++) s += B64URL[Math.floor(rand() * 64)];
  return s;
}

/** The directory's content: users, golems (5 per user), keys (2 per user), and caller-chosen ids among them. */
export interface DirectoryInputs {
  readonly ids: KnownIdentifier[];
  /** A user with caller-chosen (weak and strong) identifiers: the writer of the scrubbed texts. */
  readonly writer: string;
  /** Some of the golem ids (for prose). */
  readonly golems: string[];
  /** Fresh strong identifiers not in `ids` (for the cost of adding one). */
  fresh(n: number): KnownIdentifier[];
}

/** `users` users, 5 golems and 2 keys each; 1 user in 20 and 1 golem in 50 caller-chosen (`alice-7`, `carol`, `trader-bot-12`). */
export function directoryInputs(users: number, seed: number): DirectoryInputs {
  const rand = rng(seed);
  const ids: KnownIdentifier[] = [];
  const golems: string[] = [];
  const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
  for (let u = 0; u < users; u++) {
    const userId = u % 20 === 0 ? `${names[u % 10]}-${u}` : strongId(rand, "usr");
    ids.push({ kind: "user", value: userId, userId });
    for (let g = 0; g < 5; g++) {
      const value = (u * 5 + g) % 50 === 0 ? (g === 0 ? (names[u % 10] as string) : `trader-bot-${u * 5 + g}`) : strongId(rand, "glm");
      ids.push({ kind: "golem", value, userId });
      if (golems.length < 1_000) golems.push(value);
    }
    for (let k = 0; k < 2; k++) ids.push({ kind: "key", value: strongId(rand, "key"), userId });
  }
  const writer = "carol-2";
  ids.push({ kind: "user", value: writer, userId: writer }, { kind: "golem", value: "carol", userId: writer });
  const freshRand = rng(seed + 1);
  return {
    ids,
    writer,
    golems,
    fresh: (n) => Array.from({ length: n }, () => ({ kind: "golem", value: strongId(freshRand, "glm"), userId: writer })),
  };
}

/** `unit` repeated to exactly `length` code units. */
export function fill(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** Random base64 tokens of `tokenLength` separated by spaces, to `length`. */
export function base64Tokens(seed: number, tokenLength: number, length: number): string {
  const rand = rng(seed);
  let s = "";
  while (s.length < length) {
    for (let i = 0; i < tokenLength; i++) s += B64[Math.floor(rand() * 64)];
    s += " ";
  }
  return s.slice(0, length);
}

/** Ordinary prose: sentences of common words, now and then a golem id, an amount, a count or a date. */
export function prose(seed: number, length: number, golems: readonly string[]): string {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const words = (
    "the market opened higher and the golem held its position while volume stayed thin across the session " +
    "we saw funding flip negative after the announcement so the strategy reduced exposure and waited for confirmation " +
    "liquidity returned near the close and spreads narrowed again which suggests the move was mostly noise"
  ).split(" ");
  let s = "";
  while (s.length < length) {
    const n = 8 + Math.floor(rand() * 14);
    const sentence = Array.from({ length: n }, () => pick(words));
    const r = rand();
    if (r < 0.15) sentence.splice(3, 0, `golem ${pick(golems)}`);
    else if (r < 0.3) sentence.splice(2, 0, `$${(rand() * 10_000).toFixed(2)}`);
    else if (r < 0.45) sentence.splice(4, 0, `${Math.floor(rand() * 500)} trades`);
    else if (r < 0.5) sentence.push("on 2026-11-23 at 14:05 UTC");
    s += `${sentence.join(" ")}. `;
    if (rand() < 0.1) s += "\n\n";
  }
  return s.slice(0, length);
}

/** The adversarial texts, `length` code units each (the reproducer is 64,002: it is its own length). */
export function adversarial(length: number, golems: readonly string[]): { name: string; text: string }[] {
  const mixture = ["a@", "a.", "%4", "c a r o l ", "\u200b", "ｃ", "Y2Fyb2w= ", "1,", "x [at] y [dot] ", "$1 ", "0x", "::1 "].join("");
  return [
    { name: 'issue reproducer: "a@" + "a." × 32,000', text: `a@${"a.".repeat(32_000)}` },
    { name: '"a." ×', text: fill("a.", length) },
    { name: '"a " ×', text: fill("a ", length) },
    { name: '"a@" ×', text: fill("a@", length) },
    { name: '"@a." ×', text: fill("@a.", length) },
    { name: '"%4" ×', text: fill("%4", length) },
    { name: '"c a r o l " × (a weak id, split)', text: fill("c a r o l ", length) },
    { name: '"Y2Fyb2w= " × (base64 of a weak id)', text: fill("Y2Fyb2w= ", length) },
    { name: "random base64 tokens of 4,096", text: base64Tokens(7, 4_096, length) },
    { name: "random base64 tokens of 64", text: base64Tokens(8, 64, length) },
    { name: '"6361726f6c " × (hex)', text: fill("6361726f6c ", length) },
    { name: "zero-width space ×", text: fill("\u200b", length) },
    { name: '"a\\u200b" ×', text: fill("a\u200b", length) },
    { name: 'fullwidth "ｃ" ×', text: fill("ｃ", length) },
    { name: "emails ×", text: fill("bob.smith+x@mail.example.com, ", length) },
    { name: 'amounts "$1,234.56 " ×', text: fill("$1,234.56 ", length) },
    { name: '"1," ×', text: fill("1,", length) },
    { name: "known strong ids ×", text: fill(`${golems.filter((g) => g.startsWith("glm_")).join(" ")} `, length) },
    { name: "mixture of 12 shapes ×", text: fill(mixture, length) },
  ];
}
