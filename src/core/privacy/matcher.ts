/**
 * Multi-pattern matching for the directory of known identifiers: one trie of every pattern,
 * walked from each position of the text. Adding a pattern costs its length (no automaton to
 * rebuild, so a burst of registrations never stalls the event loop); a scan costs the text's
 * length times the longest walk, which the patterns' length bounds (identifiers are at most
 * 128 characters), whatever the number of patterns.
 */
export class PatternTrie {
  /** Children of all nodes but the root in one map: `node * 2^16 + code unit` → node. */
  readonly #next = new Map<number, number>();
  /** The root's children by code unit (0: none): the step every position takes, kept out of the map. */
  readonly #root = new Int32Array(65_536);
  /** For each node: the length of the pattern ending there, or 0. */
  readonly #ends: number[] = [0];
  #patterns = 0;

  /** How many distinct patterns it holds. */
  get size(): number {
    return this.#patterns;
  }

  /** Adds a pattern (ignored when empty or already there); O(its length). */
  add(pattern: string): boolean {
    if (pattern.length === 0) return false;
    let node = 0;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern.charCodeAt(i);
      let child = node === 0 ? this.#root[c] || undefined : this.#next.get(node * 65_536 + c);
      if (child === undefined) {
        child = this.#ends.length;
        this.#ends.push(0);
        if (node === 0) this.#root[c] = child;
        else this.#next.set(node * 65_536 + c, child);
      }
      node = child;
    }
    if (this.#ends[node] !== 0) return false;
    this.#ends[node] = pattern.length;
    this.#patterns++;
    return true;
  }

  /**
   * Calls `onMatch(start, end)` (end exclusive) for the longest pattern starting at each
   * position of `text` (with `all`, for every pattern). Yields every `sliceSize` positions so a
   * caller can hand the event loop back.
   */
  *scan(text: string, onMatch: (start: number, end: number) => void, all = false, sliceSize = 4096): Generator<void, void> {
    if (this.#patterns === 0) return;
    for (let i = 0; i < text.length; i++) {
      if (i > 0 && i % sliceSize === 0) yield;
      const first = this.#root[text.charCodeAt(i)] as number;
      if (first === 0) continue;
      let node = 0;
      let longest = 0;
      for (let j = i; j < text.length; j++) {
        const child = node === 0 ? first : this.#next.get(node * 65_536 + text.charCodeAt(j));
        if (child === undefined) break;
        node = child;
        const len = this.#ends[node] as number;
        if (len > 0) {
          if (all) onMatch(i, i + len);
          else longest = len;
        }
      }
      if (longest > 0) onMatch(i, i + longest);
    }
  }
}

/** Runs a generator to its end without pausing (for short inputs); returns its value. */
export function runSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Longest run between two hand-backs of the event loop in `runPaced`, in ms. */
export const SLICE_MS = 2;

/**
 * Runs a generator to its end, handing the event loop back (`pause`) whenever `sliceMs` has
 * passed since the last time: the generator yields often, and the clock decides.
 */
export async function runPaced<T>(steps: Generator<void, T>, pause: () => Promise<void>, sliceMs = SLICE_MS): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
}
