import { foldIdentifier } from "../core/privacy/normalize.js";

/**
 * The privacy corpus (issue 14, acceptance 1): cases of identifying text built from the
 * identities a test actually created (user, golem, key and session ids, wallets, key bodies),
 * in every form an attacker reading a public surface would try to recover them from — plain,
 * glued, split, invisible characters, homoglyphs, encodings — plus what no directory can know
 * (emails, URLs, addresses, IPs, phones, handles, timestamps, amounts). Each case carries the
 * secrets that must not appear in any public output; `findLeaks` compares an output with them
 * raw, case-folded and on the separator-free folded form (NFKC, invisible characters dropped,
 * TR39 confusables folded), so a leak through a transformation is still a leak.
 *
 * The generator is the mechanism, not a list: give it other identities and it builds the same
 * attacks on them; every category draws on every identity that fits it.
 */

/** What a case tries to leak (see docs/privacy.md, "The corpus test", for what each covers). */
export const CORPUS_CATEGORIES = [
  "own-user-id",
  "own-golem-id",
  "sibling-golem-id",
  "other-tenant-id",
  "weak-id",
  "glued-id",
  "zero-width",
  "homoglyph",
  "fullwidth",
  "base64",
  "base64url",
  "hex-encoded",
  "percent-encoded",
  "split-id",
  "key-body",
  "key-id",
  "session-id",
  "ens",
  "email",
  "url",
  "solana",
  "bitcoin",
  "ip",
  "phone",
  "handle",
  "epoch",
  "iso-datetime",
  "amount",
] as const;

/** A category of the corpus. */
export type CorpusCategory = (typeof CORPUS_CATEGORIES)[number];

/** One case: a text to place in every public field, and what must never come back. */
export interface CorpusCase {
  /** Stable name, `<category>-<n>`. */
  readonly id: string;
  readonly category: CorpusCategory;
  /** The text as a careless golem would write it. */
  readonly text: string;
  /**
   * Strings that must not appear in any public output. Ones made of digits (with `,` `_` `'`
   * or one `.`) are exact amounts or times, compared by their digits; the others are compared
   * raw and on the folded separator-free form.
   */
  readonly secrets: readonly string[];
}

/** The identifiers of one tenant as the test created them. */
export interface CorpusTenant {
  readonly userId: string;
  /** Golem ids that are strong (8+ folded characters with a digit). */
  readonly golemIds: readonly string[];
  /** Letters-only golem ids (weak: matched only as whole tokens in their own user's text). */
  readonly weakGolemIds: readonly string[];
  /** EVM wallets (checksummed as the chain library gives them). */
  readonly wallets: readonly string[];
  /** Full API key bodies (`styx_…`). */
  readonly keyBodies: readonly string[];
  readonly keyIds: readonly string[];
  readonly sessionIds: readonly string[];
}

/** Whose text the corpus is: the writer (and the golem it writes as), and other tenants of the instance. */
export interface CorpusIdentities {
  readonly writer: CorpusTenant;
  /** The writer's golem that writes every case (its siblings are the writer's other golems). */
  readonly writingGolemId: string;
  readonly others: readonly CorpusTenant[];
}

const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"];
/** Latin letters → Cyrillic/Greek look-alikes (TR39 confusables). */
const HOMOGLYPH: Readonly<Record<string, string>> = {
  a: "\u0430",
  c: "\u0441",
  e: "\u0435",
  i: "\u0456",
  o: "\u043e",
  p: "\u0440",
  s: "\u0455",
  x: "\u0445",
  y: "\u0443",
  k: "\u03ba",
  t: "\u03c4",
  r: "\u0433",
};

/** Every case built from the given identities (≥ 150 for a writer with 3 golems, 2 wallets, 2 keys, a session and one other tenant). */
export function corpusCases(ids: CorpusIdentities): CorpusCase[] {
  const out: CorpusCase[] = [];
  const counters = new Map<CorpusCategory, number>();
  const add = (category: CorpusCategory, text: string, secrets: readonly string[]) => {
    const n = (counters.get(category) ?? 0) + 1;
    counters.set(category, n);
    out.push({ id: `${category}-${n}`, category, text, secrets: [...new Set(secrets.filter((s) => s.length > 0))] });
  };
  const w = ids.writer;
  const siblings = w.golemIds.filter((g) => g !== ids.writingGolemId);
  const other = ids.others;
  /** The writer's strong identifiers that are text-like (ids), then wallets. */
  const textIds = [w.userId, ...w.golemIds, ...other.flatMap((o) => [o.userId, ...o.golemIds])];
  const wallets = [...w.wallets, ...other.flatMap((o) => o.wallets)];

  // The writer's own ids, plainly and in the contexts a log line puts them.
  add("own-user-id", `owner ${w.userId} rebalanced`, [w.userId]);
  add("own-user-id", `${w.userId.toUpperCase()} SAYS HOLD`, [w.userId]);
  add("own-user-id", `${w.userId}'s book`, [w.userId]);
  add("own-user-id", `(user:${w.userId})`, [w.userId]);
  add("own-user-id", `vault/${w.userId}/notes`, [w.userId]);
  add("own-user-id", `"${w.userId}"`, [w.userId]);
  for (const g of [ids.writingGolemId, ...siblings]) {
    const cat = g === ids.writingGolemId ? "own-golem-id" : "sibling-golem-id";
    add(cat, `golem ${g} saw funding flip`, [g]);
    add(cat, `${g.toUpperCase()}`, [g]);
    add(cat, `[${g}] entered short`, [g]);
  }
  for (const wallet of w.wallets) {
    add("own-user-id", `wallet ${wallet} topped up`, [wallet]);
    add("own-user-id", wallet.toLowerCase(), [wallet]);
  }
  for (const o of other) {
    add("other-tenant-id", `copied ${o.userId} trades`, [o.userId]);
    for (const g of o.weakGolemIds) add("other-tenant-id", `front-ran ${g}`, [g]);
    for (const g of o.golemIds) add("other-tenant-id", `front-ran ${g}`, [g]);
    for (const wallet of o.wallets) add("other-tenant-id", `counterparty ${wallet}`, [wallet]);
    for (const k of o.keyIds) add("other-tenant-id", `leaked key id ${k}`, [k]);
  }
  // Weak ids (letters only): whole tokens of their own user's text.
  for (const g of w.weakGolemIds) {
    add("weak-id", `${g} went long`, [g]);
    add("weak-id", `${g.toUpperCase()}!`, [g]);
    add("weak-id", `${g}_main`, [g]);
    add("weak-id", `${g}-7 fleet`, [g]);
  }
  // Glued to letters, digits and underscores.
  for (const id of textIds.slice(0, 4)) {
    add("glued-id", `${id}_trader`, [id]);
    add("glued-id", `x${id}9`, [id]);
    add("glued-id", `id=${id}&x=1`, [id]);
  }
  for (const wallet of wallets.slice(0, 3)) {
    add("glued-id", `w_${wallet}_main`, [wallet]);
    add("glued-id", `tx${wallet}`, [wallet]);
    add("glued-id", `${wallet.slice(2)}ff`, [wallet]);
  }
  // Invisible characters inside ids and wallets.
  for (const [i, id] of [...textIds.slice(0, 4), ...wallets.slice(0, 3)].entries()) {
    add("zero-width", interleave(id, ZERO_WIDTH[i % ZERO_WIDTH.length] as string, 3), [id]);
  }
  add("zero-width", interleave(w.userId, "\u200b", 1), [w.userId]);
  // Homoglyphs and fullwidth forms.
  for (const id of [...textIds.slice(0, 4), ...wallets.slice(0, 2)]) {
    add("homoglyph", homoglyphs(id), [id]);
    add("fullwidth", fullwidth(id), [id]);
  }
  add("homoglyph", mathDigits(homoglyphs(w.userId)), [w.userId]);
  add("fullwidth", fullwidth(w.userId.toUpperCase()), [w.userId]);
  // Encoded ids and wallets.
  const encodable = [
    w.userId,
    ids.writingGolemId,
    ...siblings.slice(0, 1),
    ...wallets.slice(0, 2),
    ...w.keyIds.slice(0, 1),
    ...other.map((o) => o.userId),
  ];
  for (const id of encodable) {
    const b64 = Buffer.from(id).toString("base64");
    const b64url = Buffer.from(id).toString("base64url");
    const hex = Buffer.from(id).toString("hex");
    const pct = [...Buffer.from(id)].map((b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("");
    add("base64", `blob ${b64}`, [id, b64]);
    add("base64url", `ref=${b64url}`, [id, b64url]);
    add("hex-encoded", `0x${hex}`, [id, hex]);
    add("percent-encoded", `u=${pct}`, [id, pct]);
  }
  const json = Buffer.from(JSON.stringify({ user: w.userId, golem: ids.writingGolemId })).toString("base64");
  add("base64", json, [w.userId, ids.writingGolemId, json]);
  // Split ids and wallets: spaces, hyphens, newlines, groups.
  for (const wallet of wallets.slice(0, 3)) {
    add("split-id", `${wallet.slice(0, 21)} ${wallet.slice(21)}`, [wallet]);
    add("split-id", `${wallet.slice(0, 18)}-${wallet.slice(18)}`, [wallet]);
    add("split-id", groups(wallet, 4, " "), [wallet]);
  }
  add("split-id", `${wallets[0]?.slice(0, 20)}\n${wallets[0]?.slice(20)}`, [wallets[0] ?? ""]);
  add("split-id", [...w.userId].join(" "), [w.userId]);
  add("split-id", `${ids.writingGolemId.slice(0, 5)} ${ids.writingGolemId.slice(5)}`, [ids.writingGolemId]);
  add("split-id", [...ids.writingGolemId].join("."), [ids.writingGolemId]);
  // API keys: whole, without the prefix, as a header, split; key ids; sessions.
  for (const key of w.keyBodies) {
    const body = key.replace(/^styx_/, "");
    add("key-body", `used ${key} today`, [key, body]);
    add("key-body", `token ${body}`, [key, body]);
    add("key-body", `Authorization: Bearer ${key}`, [key, body]);
    add("key-body", `${body.slice(0, 21)} ${body.slice(21)}`, [body]);
  }
  for (const k of w.keyIds) {
    add("key-id", `rotated ${k}`, [k]);
    add("key-id", k.toUpperCase(), [k]);
    add("key-id", `${k}_old`, [k]);
  }
  for (const sid of w.sessionIds) {
    add("session-id", `session ${sid} expired`, [sid]);
    add("session-id", `sid=${sid};`, [sid]);
  }
  // What no directory can know.
  add("ens", "carolvault.eth", ["carolvault.eth", "carolvault"]);
  add("ens", "pay treasury.carol-trader.eth now", ["treasury.carol-trader.eth"]);
  add("ens", "CAROLVAULT.ETH", ["carolvault.eth"]);
  add("ens", "vitalik.eth sent", ["vitalik.eth"]);
  add("email", "mail carol.w@corp-mail.example", ["carol.w@corp-mail.example"]);
  add("email", "carol+alerts@corp-mail.example", ["carol+alerts@corp-mail.example"]);
  add("email", "<ops@trader-desk.example>", ["ops@trader-desk.example"]);
  add("email", "josé@bücher.example", ["josé@bücher.example"]);
  add("email", "user@xn--bcher-kva.example", ["user@xn--bcher-kva.example"]);
  add("email", "dana.kowalski [at] corp-mail [dot] example", ["dana.kowalski", "kowalski"]);
  add("email", "erin.moss(at)moss-capital(dot)example", ["erin.moss", "moss-capital"]);
  add("email", "reach frank.ozu at ozu-fund dot example", ["frank.ozu", "ozu-fund"]);
  add("url", `https://dash.example/users/${w.userId}/vault`, [w.userId, "/users/"]);
  add("url", "https://carol:hunter22pass@dash.example/x", ["hunter22pass", "carol:hunter22pass"]);
  add("url", "https://dash.example/p?session=tok9f8e7d6c5b4a&u=gwen.holt", ["tok9f8e7d6c5b4a", "gwen.holt"]);
  add("url", "https://dash.example/app#access_token=frag7x7y7z9w", ["frag7x7y7z9w"]);
  add("url", "www.corp-mail.example/~ivan.petrov/private", ["ivan.petrov"]);
  add("url", "ftp://files.example:2121/home/jules.vern/keys.txt", ["jules.vern"]);
  add("url", "https://203.0.113.77:8443/admin", ["203.0.113.77"]);
  add("solana", "sol 7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", ["7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"]);
  add("solana", "So11111111111111111111111111111111111111112", ["So11111111111111111111111111111111111111112"]);
  add("solana", "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy", ["DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"]);
  add("bitcoin", "btc bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]);
  add("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]);
  add("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]);
  add("ip", "from 198.51.100.23", ["198.51.100.23"]);
  add("ip", "10.20.30.40:8080", ["10.20.30.40"]);
  add("ip", "2001:db8:85a3::8a2e:370:7334", ["2001:db8:85a3::8a2e:370:7334", "8a2e:370:7334"]);
  add("ip", "fe80::1ff:fe23:4567:890a", ["fe80::1ff:fe23:4567:890a", "4567:890a"]);
  add("ip", "::ffff:192.0.2.128", ["192.0.2.128"]);
  add("phone", "call +1 415 555 0134", ["4155550134"]);
  add("phone", "(415) 555-0198", ["4155550198"]);
  add("phone", "415-555-0176", ["4155550176"]);
  add("phone", "+44 20 7946 0958", ["2079460958"]);
  add("phone", "+14155550122", ["14155550122"]);
  add("handle", "ping @carol_trades", ["carol_trades"]);
  add("handle", "@carol.w.eth.fan", ["carol.w.eth.fan"]);
  add("handle", "follow @degenqueen77", ["degenqueen77"]);
  add("epoch", "at 1765432109", ["1765432109"]);
  add("epoch", "ts 1765432109876", ["1765432109876"]);
  add("epoch", "t=1764012345", ["1764012345"]);
  add("epoch", "1764012345678ms", ["1764012345678"]);
  add("epoch", "ts_1764012399", ["1764012399"]);
  add("iso-datetime", "2025-12-11T05:48:29Z", ["05:48:29", "2025-12-11t05:48"]);
  add("iso-datetime", "2025-12-10T06:17:53.876+02:00", ["06:17:53", "2025-12-10t06:17", "2025-12-10t04:17"]);
  add("iso-datetime", "2025-12-09 07:33:11", ["07:33:11", "2025-12-09 07:33"]);
  add("iso-datetime", "closed at 17:23:41", ["17:23:41"]);
  add("amount", "won 42069usdc", ["42069"]);
  add("amount", "1_234_567 tokens", ["1234567"]);
  add("amount", "1.2345e6 notional", ["1.2345e6", "12345"]);
  add("amount", "paid $1,234.56", ["1,234.56", "1234.56"]);
  add("amount", "1234567890000000000 wei", ["1234567890000000000"]);
  add("amount", "12.5k profit", ["12.5k", "12.5"]);
  add("amount", "3.75M tvl", ["3.75m", "3.75"]);
  add("amount", "€98,765.43", ["98,765.43", "98765.43"]);
  add("amount", "0.00042069 ETH", ["0.00042069"]);
  add("amount", "42,077 USDC", ["42,077", "42077"]);
  add("amount", "USDC 58213", ["58213"]);
  add("amount", "7 654 321,89 EUR", ["7 654 321", "7654321"]);
  add("amount", "size=73519.25", ["73519.25"]);
  add("amount", "PnL -8123.4", ["8123.4"]);
  add("amount", "pnl-61842 usdc", ["61842"]);
  return out;
}

/** The encodings of an identifier a careless golem might write: base64 (unpadded), base64url, hex. */
export function encodedForms(id: string): { base64: string; base64url: string; hex: string } {
  const bytes = Buffer.from(id);
  return { base64: bytes.toString("base64").replace(/=+$/, ""), base64url: bytes.toString("base64url"), hex: bytes.toString("hex") };
}

/** Inserts `sep` after every `every` characters of `s`. */
function interleave(s: string, sep: string, every: number): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += (i > 0 && i % every === 0 ? sep : "") + s[i];
  return out;
}

function groups(s: string, size: number, sep: string): string {
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += size) parts.push(s.slice(i, i + size));
  return parts.join(sep);
}

function homoglyphs(s: string): string {
  return [...s].map((ch) => HOMOGLYPH[ch] ?? ch).join("");
}

/** ASCII → fullwidth forms (U+FF01–FF5E). */
function fullwidth(s: string): string {
  return [...s].map((ch) => (ch >= "!" && ch <= "~" ? String.fromCodePoint((ch.codePointAt(0) as number) + 0xfee0) : ch)).join("");
}

/** Digits → mathematical bold digits (U+1D7CE…). */
function mathDigits(s: string): string {
  return [...s].map((ch) => (ch >= "0" && ch <= "9" ? String.fromCodePoint(0x1d7ce + Number(ch)) : ch)).join("");
}

/** How a case is written into a structural field (domain, regime, class, variable, metadata value). */
export type StructuralForm = "raw" | "token" | "slug";

/**
 * The forms a golem would put a text in a structural field: as written (`raw`); with every
 * run outside `[A-Za-z0-9_.-]` turned into `-` (`token`, case kept); the same lower-cased
 * (`slug`). Each trimmed to 64 characters; duplicates dropped (the first form named wins).
 */
export function structuralForms(text: string): { form: StructuralForm; value: string }[] {
  const token = tokenOf(text);
  const out: { form: StructuralForm; value: string }[] = [];
  for (const [form, value] of [
    ["raw", text],
    ["token", token],
    ["slug", token.toLowerCase()],
  ] as const) {
    if (value.length > 0 && !out.some((o) => o.value === value)) out.push({ form, value });
  }
  return out;
}

/** The lower-cased token form of a text (see structuralForms). */
export function slugOf(text: string): string {
  return tokenOf(text).toLowerCase();
}

function tokenOf(text: string): string {
  let out = "";
  let dash = false;
  for (const ch of text.normalize("NFKC")) {
    const ok = (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z") || (ch >= "0" && ch <= "9") || ch === "_" || ch === "." || ch === "-";
    if (ok) {
      out += ch;
      dash = false;
    } else if (!dash && out.length > 0) {
      out += "-";
      dash = true;
    }
  }
  let start = 0;
  let end = out.length;
  while (end > 0 && (out[end - 1] === "-" || out[end - 1] === ".")) end--;
  while (start < end && (out[start] === "-" || out[start] === "." || out[start] === "_")) start++;
  return out.slice(start, end).slice(0, 64);
}

/** Digit separators dropped when amounts are compared (`1,234` = `1_234` = `1 234` = `1'234`). */
const DIGIT_SEPARATORS = new Set([",", "_", "'", " "]);

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** Whether a secret is an exact amount or time: digits, with digit separators or one `.`. */
function numericForm(secret: string): string | undefined {
  let out = "";
  let dots = 0;
  for (let i = 0; i < secret.length; i++) {
    const c = secret[i] as string;
    if (isDigit(c)) out += c;
    else if (c === "." && isDigit(secret[i - 1]) && isDigit(secret[i + 1])) {
      dots++;
      out += c;
    } else if (DIGIT_SEPARATORS.has(c) && isDigit(secret[i - 1]) && isDigit(secret[i + 1])) continue;
    else return undefined;
  }
  return dots <= 1 && out.length >= 4 ? out : undefined;
}

/** A string with the separators between digits removed (so `1,234,567` reads `1234567`). */
function joinDigits(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (DIGIT_SEPARATORS.has(c) && isDigit(s[i - 1]) && isDigit(s[i + 1])) continue;
    out += c;
  }
  return out;
}

/** Whether `n` occurs in `s` not glued to other digits. */
function hasNumber(s: string, n: string): boolean {
  for (let at = s.indexOf(n); at >= 0; at = s.indexOf(n, at + 1)) {
    const before = s[at - 1];
    const after = s[at + n.length];
    const gluedBefore = isDigit(before) || (before === "." && isDigit(s[at - 2]));
    const gluedAfter = isDigit(after) || (after === "." && isDigit(s[at + n.length + 1]));
    if (!gluedBefore && !gluedAfter) return true;
  }
  return false;
}

/** The folded separator-free form, case-folded first (so `I`/`i` and `M`/`m` fold alike whatever TR39 maps them to). */
function fold(s: string): string {
  return foldIdentifier(s.normalize("NFKC").toLowerCase());
}

/** Folded forms shorter than this are compared raw only (short folded strings occur by chance). */
const FOLDED_MIN = 6;

/** The strings of a JSON text (values and keys; numbers as text), or the text itself when it is not JSON. */
function stringsOf(output: string): { strings: string[]; numbers: string[] } {
  const strings: string[] = [];
  const numbers: string[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return { strings: [output], numbers };
  }
  const walk = (v: unknown): void => {
    if (typeof v === "string") strings.push(v);
    else if (typeof v === "number") numbers.push(String(v));
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        strings.push(k);
        walk(x);
      }
    }
  };
  walk(parsed);
  return { strings, numbers };
}

/** A public output prepared once for many secret look-ups. */
export class OutputText {
  readonly raw: string;
  readonly #lower: string;
  readonly #folded: string[];
  readonly #digits: string[];
  readonly #numbers: Set<string>;
  /** Every string of the output (JSON values and keys), lower-cased: a structural value is one of them. */
  readonly values: ReadonlySet<string>;

  constructor(output: string) {
    this.raw = output;
    this.#lower = output.toLowerCase();
    const { strings, numbers } = stringsOf(output);
    this.#folded = strings.map(fold);
    this.#digits = strings.map(joinDigits);
    this.#numbers = new Set(numbers);
    this.values = new Set(strings.map((x) => x.toLowerCase()));
  }

  /** Whether the output shows `secret`: raw (case-folded), folded separator-free, or as the same exact number. */
  shows(secret: string): boolean {
    const n = numericForm(secret);
    if (n !== undefined) {
      if (/[^0-9]/.test(secret) && !/^[0-9]+\.[0-9]+$/.test(secret) && this.#lower.includes(secret.toLowerCase())) return true;
      return this.#numbers.has(n) || this.#digits.some((s) => hasNumber(s, n));
    }
    if (this.#lower.includes(secret.toLowerCase())) return true;
    const f = fold(secret);
    return f.length >= FOLDED_MIN && this.#folded.some((s) => s.includes(f));
  }

  /** An excerpt of the raw output around the first raw occurrence of `secret` (or its start). */
  excerpt(secret: string, width = 80): string {
    const at = this.#lower.indexOf(secret.toLowerCase());
    const from = Math.max(0, at - width);
    return this.raw.slice(from, from + 2 * width + secret.length);
  }
}

/** The secrets of `c` an output shows. */
export function findLeaks(output: OutputText, c: CorpusCase): string[] {
  return c.secrets.filter((s) => output.shows(s));
}

/**
 * What the deterministic pipeline is known to let through, as `<case id>@<form>` (`text`: free
 * text; `raw`, `token`: a structural value as written, or with its separators turned into `-`
 * and lower-cased). Each is argued in docs/privacy.md ("The corpus test"); all are out of reach of a
 * deterministic scrubber or a stated policy. The test asserts the misses are exactly these, so
 * the list can neither grow silently nor keep a case that is fixed (test/integration/privacy-corpus.test.ts;
 * federation-privacy.test.ts asserts what crosses a federation link is within it).
 */
export const KNOWN_MISSES: readonly string[] = [
  // Amounts with fewer than 4 significant digits are kept in structural values (policy: `12k`,
  // `1h`, `v2`-style tokens stay publishable); in free text they are bucketed.
  "amount-6@token",
  "amount-7@token",
  // Base64 lower-cased by the grammar cannot be decoded back (its case carried half the bits).
  // The case-kept form is checked separately below: it must be refused.
  "base64-1@token",
  "base64-2@token",
  "base64-3@token",
  "base64url-1@token",
  "base64url-2@token",
  "base64url-3@token",
  // Once `@`, `[at]`, `://` and `:` become `-`, an email, a handle or a URL's credentials are
  // words like any domain token (`carol.w-corp-mail.example`, `ping-carol_trades`).
  "email-1@token",
  "email-2@token",
  "email-3@token",
  "email-5@token",
  "email-6@token",
  "email-7@token",
  "email-8@token",
  "handle-1@token",
  "handle-3@token",
  "url-2@token",
  // A bare time of day slugged (`closed-at-17-23-41`) reads like any three numbers.
  "iso-datetime-4@token",
  // Another tenant's letters-only id: weak ids match only in their own user's text (else any
  // tenant could censor a common word, and a refusal would confirm the id exists).
  "other-tenant-id-2@text",
  "other-tenant-id-2@token",
];
