import { PatternTrie } from "./matcher.js";
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

/**
 * Every known identifier of the instance — user ids, golem ids, wallets, key ids, session ids —
 * in a multi-pattern matcher (SPEC §4.2 step 2): strong identifiers in one trie, weak ones in a
 * trie per user. Additions are idempotent and cost their length.
 */
export class IdentifierDirectory {
  readonly #strong = new PatternTrie({ denseRoot: true });
  readonly #weak = new Map<string, PatternTrie>();
  #weakCount = 0;
  #generation = 0;
  /**
   * The values already added, by user: adding a known one again (every deposit remembers its
   * golem's ids) skips the folding and the tries (~15 µs a deposit).
   */
  readonly #added = new Map<string, Set<string>>();
  readonly #listeners: ((added: readonly KnownIdentifier[]) => void)[] = [];

  /** How many distinct folded identifiers are known (strong, weak). */
  get size(): { strong: number; weak: number } {
    return { strong: this.#strong.size, weak: this.#weakCount };
  }

  /** Counts the additions that made an identifier known: a check made at the same generation would answer the same. */
  get generation(): number {
    return this.#generation;
  }

  /** Adds identifiers (already known ones are ignored). */
  add(ids: Iterable<KnownIdentifier>): void {
    const added: KnownIdentifier[] = [];
    for (const id of ids) {
      let seen = this.#added.get(id.userId);
      if (seen?.has(id.value)) continue;
      if (!seen) {
        seen = new Set();
        this.#added.set(id.userId, seen);
      }
      seen.add(id.value);
      const folded = foldIdentifier(id.value);
      if (folded.length < WEAK_MIN_LENGTH) continue;
      if (isStrong(id.value)) {
        if (this.#strong.add(folded)) added.push(id);
        continue;
      }
      let mine = this.#weak.get(id.userId);
      if (!mine) {
        mine = new PatternTrie();
        this.#weak.set(id.userId, mine);
      }
      if (mine.add(folded)) {
        this.#weakCount++;
        added.push(id);
      }
    }
    if (added.length === 0) return;
    this.#generation++;
    for (const l of this.#listeners) l(added);
  }

  /** Calls `listener` with the identifiers each later `add` made known (a copy of the directory elsewhere follows this one). */
  onAdd(listener: (added: readonly KnownIdentifier[]) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Matches in a folded text: strong identifiers anywhere; `userIds`' weak identifiers where
   * they cover whole tokens. Yields between slices (see PatternTrie.scan).
   */
  *match(f: Folded, userIds: readonly string[]): Generator<void, IdentifierMatch[]> {
    const out: IdentifierMatch[] = [];
    yield* this.#strong.scan(f.text, (start, end) => out.push({ start, end }));
    for (const userId of new Set(userIds)) {
      const weak = this.#weak.get(userId);
      if (!weak) continue;
      yield* weak.scan(
        f.text,
        (start, end) => {
          if (f.tokenStart[start] === 1 && endsToken(f, end)) out.push({ start, end });
        },
        true,
      );
    }
    return out;
  }
}
