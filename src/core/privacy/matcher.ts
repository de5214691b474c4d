/**
 * Multi-pattern matching for the directory of known identifiers: one trie of every pattern,
 * walked from each position of the text. Adding a pattern costs its length (no automaton to
 * rebuild, so a burst of registrations never stalls the event loop); a scan costs the text's
 * length times the longest walk, which the patterns' length bounds (identifiers are at most
 * 128 characters), whatever the number of patterns.
 *
 * The trie lives in typed arrays, not in objects or a Map: a directory of 80,000 identifiers is
 * ~1.8 million nodes, and held as JavaScript values they made every full garbage collection
 * mark them (35-55 ms pauses of the event loop, measured in bench/scrub.ts). Most nodes have one
 * child (identifiers share little beyond their first characters), so each node keeps its first
 * child inline and the others go to an open-addressing hash table of typed arrays.
 */
export class PatternTrie {
  /** Per node: the code unit of its first child and that child (0: none; the root is node 0). */
  #firstChar: Uint16Array;
  #firstChild: Int32Array;
  /** Per node: the length of the pattern ending there, or 0. */
  #ends: Uint32Array;
  #nodes = 1;
  /** Further children, open addressing: slot → node + 1 (0: empty), code unit, child. */
  #slotNode: Int32Array;
  #slotChar: Uint16Array;
  #slotChild: Int32Array;
  #slotsUsed = 0;
  /** The root's children by code unit (0: none), for a trie scanned from every position of long texts; absent in small tries. */
  readonly #root: Int32Array | undefined;
  #patterns = 0;

  /**
   * @param options.denseRoot index the root's children by code unit (256 KiB, once): the step
   *   every position of a scan takes costs one array read. For the one large trie, not for many small ones.
   */
  constructor(options: { readonly denseRoot?: boolean } = {}) {
    this.#firstChar = new Uint16Array(64);
    this.#firstChild = new Int32Array(64);
    this.#ends = new Uint32Array(64);
    this.#slotNode = new Int32Array(16);
    this.#slotChar = new Uint16Array(16);
    this.#slotChild = new Int32Array(16);
    this.#root = options.denseRoot ? new Int32Array(65_536) : undefined;
  }

  /** How many distinct patterns it holds. */
  get size(): number {
    return this.#patterns;
  }

  /** Adds a pattern (ignored when empty or already there); O(its length), amortized. */
  add(pattern: string): boolean {
    if (pattern.length === 0) return false;
    let node = 0;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern.charCodeAt(i);
      let child = this.#child(node, c);
      if (child === 0) {
        child = this.#newNode();
        this.#link(node, c, child);
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
  *scan(text: string, onMatch: (start: number, end: number) => void, all = false, sliceSize = 1024): Generator<void, void> {
    if (this.#patterns === 0) return;
    const root = this.#root;
    for (let i = 0; i < text.length; i++) {
      if (i > 0 && i % sliceSize === 0) yield;
      const c0 = text.charCodeAt(i);
      let node = root ? (root[c0] as number) : this.#child(0, c0);
      if (node === 0) continue;
      let longest = 0;
      for (let j = i + 1; ; j++) {
        const len = this.#ends[node] as number;
        if (len > 0) {
          if (all) onMatch(i, i + len);
          else longest = len;
        }
        if (j >= text.length) break;
        node = this.#child(node, text.charCodeAt(j));
        if (node === 0) break;
      }
      if (longest > 0) onMatch(i, i + longest);
    }
  }

  /** The child of `node` by code unit `c`, or 0. */
  #child(node: number, c: number): number {
    if (node === 0 && this.#root) return this.#root[c] as number;
    const first = this.#firstChild[node] as number;
    if (first === 0) return 0;
    if (this.#firstChar[node] === c) return first;
    if (this.#slotsUsed === 0) return 0;
    const mask = this.#slotNode.length - 1;
    for (let s = slotOf(node, c) & mask; ; s = (s + 1) & mask) {
      const n = this.#slotNode[s] as number;
      if (n === 0) return 0;
      if (n === node + 1 && this.#slotChar[s] === c) return this.#slotChild[s] as number;
    }
  }

  #link(node: number, c: number, child: number): void {
    if (node === 0 && this.#root) {
      this.#root[c] = child;
      return;
    }
    if (this.#firstChild[node] === 0) {
      this.#firstChar[node] = c;
      this.#firstChild[node] = child;
      return;
    }
    if ((this.#slotsUsed + 1) * 2 > this.#slotNode.length) this.#growSlots();
    this.#put(node, c, child);
    this.#slotsUsed++;
  }

  #put(node: number, c: number, child: number): void {
    const mask = this.#slotNode.length - 1;
    let s = slotOf(node, c) & mask;
    while (this.#slotNode[s] !== 0) s = (s + 1) & mask;
    this.#slotNode[s] = node + 1;
    this.#slotChar[s] = c;
    this.#slotChild[s] = child;
  }

  #growSlots(): void {
    const [nodes, chars, children] = [this.#slotNode, this.#slotChar, this.#slotChild];
    this.#slotNode = new Int32Array(nodes.length * 2);
    this.#slotChar = new Uint16Array(nodes.length * 2);
    this.#slotChild = new Int32Array(nodes.length * 2);
    for (let s = 0; s < nodes.length; s++) {
      const n = nodes[s] as number;
      if (n !== 0) this.#put(n - 1, chars[s] as number, children[s] as number);
    }
  }

  #newNode(): number {
    if (this.#nodes === this.#ends.length) {
      const grow = <A extends Uint16Array | Int32Array | Uint32Array>(a: A, make: (n: number) => A): A => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.#firstChar = grow(this.#firstChar, (n) => new Uint16Array(n));
      this.#firstChild = grow(this.#firstChild, (n) => new Int32Array(n));
      this.#ends = grow(this.#ends, (n) => new Uint32Array(n));
    }
    return this.#nodes++;
  }
}

/** Hash of a (node, code unit) edge for the table of further children. */
function slotOf(node: number, c: number): number {
  let h = Math.imul(node, 0x9e3779b1) ^ Math.imul(c + 1, 0x85ebca77);
  h ^= h >>> 15;
  return h >>> 0;
}
