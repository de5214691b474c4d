/**
 * Aho–Corasick multi-pattern matching (one pass over the text, whatever the number of
 * patterns): the directory of known identifiers matches every one of them against a public
 * text in time linear in the text's length plus the number of matches reported.
 */
export class AhoCorasick {
  /** Children of each node: code unit → node. */
  readonly #next: Map<number, number>[] = [new Map()];
  /** Failure link of each node (the longest proper suffix that is also a trie path). */
  readonly #fail: number[] = [0];
  /** The pattern ending at each node, or -1. */
  readonly #out: number[] = [-1];
  /** The nearest node on the failure chain that ends a pattern, or -1. */
  readonly #dict: number[] = [-1];
  readonly #lengths: number[];

  /** Builds the automaton of `patterns` (empty ones are ignored); O(total pattern length). */
  constructor(patterns: readonly string[]) {
    this.#lengths = patterns.map((p) => p.length);
    for (const [index, p] of patterns.entries()) {
      if (p.length === 0) continue;
      let node = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        const children = this.#next[node] as Map<number, number>;
        let child = children.get(c);
        if (child === undefined) {
          child = this.#next.length;
          this.#next.push(new Map());
          this.#fail.push(0);
          this.#out.push(-1);
          this.#dict.push(-1);
          children.set(c, child);
        }
        node = child;
      }
      if (this.#out[node] === -1) this.#out[node] = index;
    }
    // Breadth-first: a node's failure link is computed after every shallower node's.
    const queue: number[] = [];
    for (const child of (this.#next[0] as Map<number, number>).values()) queue.push(child);
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] as number;
      for (const [c, child] of this.#next[node] as Map<number, number>) {
        queue.push(child);
        let f = this.#fail[node] as number;
        while (f !== 0 && !(this.#next[f] as Map<number, number>).has(c)) f = this.#fail[f] as number;
        const target = (this.#next[f] as Map<number, number>).get(c);
        const fail = target !== undefined && target !== child ? target : 0;
        this.#fail[child] = fail;
        this.#dict[child] = (this.#out[fail] as number) >= 0 ? fail : (this.#dict[fail] as number);
      }
    }
  }

  /** Number of trie nodes (a size measure). */
  get nodes(): number {
    return this.#next.length;
  }

  /**
   * Scans `text`, calling `onMatch(pattern, start, end)` for matches (end exclusive). With
   * `longestOnly`, only the longest pattern ending at each position is reported (enough for
   * redaction: it covers the shorter ones). Yields every `sliceSize` code units so a caller
   * can hand the event loop back; O(text length + matches reported).
   */
  *scan(
    text: string,
    onMatch: (pattern: number, start: number, end: number) => void,
    longestOnly: boolean,
    sliceSize = 8192,
  ): Generator<void, void> {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      if (i > 0 && i % sliceSize === 0) yield;
      const c = text.charCodeAt(i);
      for (;;) {
        const child = (this.#next[node] as Map<number, number>).get(c);
        if (child !== undefined) {
          node = child;
          break;
        }
        if (node === 0) break;
        node = this.#fail[node] as number;
      }
      let hit = (this.#out[node] as number) >= 0 ? node : (this.#dict[node] as number);
      while (hit >= 0) {
        const p = this.#out[hit] as number;
        const len = this.#lengths[p] as number;
        onMatch(p, i + 1 - len, i + 1);
        if (longestOnly) break;
        hit = this.#dict[hit] as number;
      }
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

/** Runs a generator to its end, awaiting `pause` at each of its yields (hands the event loop back). */
export async function runPaced<T>(steps: Generator<void, T>, pause: () => Promise<void>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}
