import { AhoCorasick } from "./matcher.js";
import { displayForm, endsToken, type Folded, foldIdentifier } from "./normalize.js";

/** What a known identifier is (for operators' counts; matching treats all kinds alike). */
export type IdentifierKind = "user" | "golem" | "wallet" | "key" | "session";

/** One identifier of the instance and the user it belongs to. */
export interface KnownIdentifier {
  readonly kind: IdentifierKind;
  readonly value: string;
  readonly userId: string;
}

/** A matched identifier in a folded text: [start, end) in folded code units. */
export interface IdentifierMatch {
  readonly start: number;
  readonly end: number;
}

/** Folded identifiers at least this long and not made of letters only match anywhere in a text. */
export const STRONG_MIN_LENGTH = 8;
/** Folded identifiers shorter than this are never matched: they cannot be told from ordinary text. */
export const WEAK_MIN_LENGTH = 3;

/**
 * Whether an identifier is strong (SPEC §4.2 steps 2 and 4): 8+ letters and digits, not
 * letters only (judged before confusable folding, which turns `1` into `l` and `0` into `o`),
 * or an id of the shape Styx generates. Strong identifiers of the whole instance match anywhere (glued, split, inside
 * other words); weak ones match only as whole tokens, and only in the text of their own user
 * (see docs/privacy.md: a weak id of another tenant could otherwise censor common words, and a
 * refusal would confirm that a guessable id exists).
 */
export function isStrong(id: string): boolean {
  if (GENERATED_ID.test(id)) return true;
  const alnum = displayForm(id).replace(/[^\p{L}\p{N}]/gu, "");
  return alnum.length >= STRONG_MIN_LENGTH && /\p{N}/u.test(alnum);
}

/** The ids Styx generates (`usr_`, `glm_`, `key_`, `ses_` + 16 random bytes, base64url): strong even when no digit came up. */
const GENERATED_ID = /^(?:usr|glm|key|ses)_[A-Za-z0-9_-]{22}$/;

/** Rebuild the large automaton when the recent additions exceed this share of it. */
const RECENT_SHARE = 0.25;
const RECENT_MIN = 256;
/** Users whose weak-identifier automaton is kept built (least recently used dropped first). */
const WEAK_CACHE_USERS = 1024;

/**
 * Every known identifier of the instance — user ids, golem ids, wallets, key ids, session ids —
 * in a multi-pattern matcher (SPEC §4.2 step 2). Strong identifiers live in one Aho–Corasick
 * automaton (rebuilt in the background share of additions: a large base plus a small automaton
 * of recent additions); weak ones per user. Additions are idempotent.
 */
export class IdentifierDirectory {
  readonly #strong = new Set<string>();
  #base = new AhoCorasick([]);
  #basePatterns: string[] = [];
  #recent: string[] = [];
  #recentAc = new AhoCorasick([]);
  readonly #weak = new Map<string, Set<string>>();
  readonly #weakAc = new Map<string, { patterns: string[]; ac: AhoCorasick }>();

  /** How many distinct folded identifiers are known (strong, weak). */
  get size(): { strong: number; weak: number } {
    let weak = 0;
    for (const s of this.#weak.values()) weak += s.size;
    return { strong: this.#strong.size, weak };
  }

  /** Adds identifiers (already known ones are ignored). */
  add(ids: Iterable<KnownIdentifier>): void {
    let fresh = 0;
    for (const id of ids) {
      const folded = foldIdentifier(id.value);
      if (folded.length < WEAK_MIN_LENGTH) continue;
      if (isStrong(id.value)) {
        if (this.#strong.has(folded)) continue;
        this.#strong.add(folded);
        this.#recent.push(folded);
        fresh++;
      } else {
        let mine = this.#weak.get(id.userId);
        if (!mine) {
          mine = new Set();
          this.#weak.set(id.userId, mine);
        }
        if (!mine.has(folded)) {
          mine.add(folded);
          this.#weakAc.delete(id.userId);
        }
      }
    }
    if (fresh === 0) return;
    if (this.#recent.length > Math.max(RECENT_MIN, this.#basePatterns.length * RECENT_SHARE)) {
      this.#basePatterns = [...this.#strong];
      this.#base = new AhoCorasick(this.#basePatterns);
      this.#recent = [];
      this.#recentAc = new AhoCorasick([]);
    } else {
      this.#recentAc = new AhoCorasick(this.#recent);
    }
  }

  /**
   * Matches in a folded text: strong identifiers anywhere; `userIds`' weak identifiers where
   * they cover whole tokens. Yields between slices (see AhoCorasick.scan).
   */
  *match(f: Folded, userIds: readonly string[]): Generator<void, IdentifierMatch[]> {
    const out: IdentifierMatch[] = [];
    const strong = (_p: number, start: number, end: number) => out.push({ start, end });
    yield* this.#base.scan(f.text, strong, true);
    if (this.#recent.length > 0) yield* this.#recentAc.scan(f.text, strong, true);
    for (const userId of new Set(userIds)) {
      const weak = this.#weakOf(userId);
      if (!weak) continue;
      yield* weak.scan(
        f.text,
        (_p, start, end) => {
          if (f.tokenStart[start] === 1 && endsToken(f, end)) out.push({ start, end });
        },
        false,
      );
    }
    return out;
  }

  #weakOf(userId: string): AhoCorasick | undefined {
    const cached = this.#weakAc.get(userId);
    if (cached) {
      // Re-inserted: the Map's order is the LRU order.
      this.#weakAc.delete(userId);
      this.#weakAc.set(userId, cached);
      return cached.ac;
    }
    const mine = this.#weak.get(userId);
    if (!mine || mine.size === 0) return undefined;
    const patterns = [...mine];
    const built = { patterns, ac: new AhoCorasick(patterns) };
    this.#weakAc.set(userId, built);
    if (this.#weakAc.size > WEAK_CACHE_USERS) this.#weakAc.delete(this.#weakAc.keys().next().value as string);
    return built.ac;
  }
}
