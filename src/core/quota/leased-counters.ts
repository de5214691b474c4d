import type { Clock } from "../platform/clock.js";
import { leaseSize } from "../platform/leased-rate-limiter.js";
import type { UsageCounters, WindowCount } from "./usage-counters.js";

/** What one reservation answers: the amount added to the window's count, the count after it (or as it was), the window's end. */
export interface Reservation {
  readonly granted: number;
  readonly used: number;
  readonly resetAt: number;
}

/**
 * Shared counters (Redis on a macronode) that a LeasedUsageCounters reserves blocks of.
 * Obligations: `reserve` is atomic per key with every add; it adds as much as fits under `limit`
 * up to `want` when at least `least` fits, else nothing; `release` takes an amount off the window
 * that ends at `resetAt` (never below 0; nothing once that window's counter is gone).
 */
export interface CounterReservations {
  reserve(key: string, windowMs: number, least: number, want: number, limit: number): Promise<Reservation>;
  release(key: string, windowMs: number, resetAt: number, amount: number): Promise<void>;
}

/** A block of one counter reserved by this process and not spent yet. */
interface Held {
  /** Units reserved (counted in the shared counter) and not spent. */
  left: number;
  /** The end of the window they are counted in. */
  resetAt: number;
  /** When the block came (released `leaseMs` later if not spent). */
  at: number;
  /** The size of the last block (the next is at most twice it). */
  size: number;
  /** The shared count after the last reservation. */
  used: number;
  /** Units spent since the last block came (a give-back returns to it up to these; the next block is sized by them). */
  spent: number;
  pending: Promise<void> | undefined;
}

/** Largest block: this share of the limit (at least 1). */
const BLOCK_SHARE = 0.01;

/**
 * Windowed quota counters shared by several processes without a round trip per add: a process
 * reserves a block of a counter (`CounterReservations`: counted in the shared counter at once)
 * and spends it locally; what it did not spend within `leaseMs` it gives back (`sweep`, run every
 * `leaseMs` by the composition root, and `close`). Blocks are sized as leases are (`leaseSize`:
 * the rate spent since the last block times `leaseMs`, at most twice the last), up to 1 % of the limit.
 *
 * The error, stated: never over a limit — every unit is counted in the shared counter before it
 * is spent. The other way, a refusal may come early by what the other processes hold reserved
 * and unspent: at most one block each (≤ 1 % of the limit), given back within `leaseMs`; the
 * usage read (`add` of 0) shows the shared count less this process's unspent block, so it may
 * show as much more than was spent. A give-back (negative add) returns to the block while it
 * lasts, else to the shared counter. Failures of the shared counters reject the add (the caller
 * falls back); a block is still spent first.
 */
export class LeasedUsageCounters implements UsageCounters {
  readonly #inner: UsageCounters & CounterReservations;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #held = new Map<string, Held>();
  readonly #onError: (err: unknown) => void;

  constructor(deps: {
    inner: UsageCounters & CounterReservations;
    clock: Clock;
    leaseMs: number;
    /** Told when giving a block back failed (it stays counted until its window ends). */
    onError?: (err: unknown) => void;
  }) {
    this.#inner = deps.inner;
    this.#clock = deps.clock;
    this.#leaseMs = deps.leaseMs;
    this.#onError = deps.onError ?? (() => {});
  }

  async add(key: string, windowMs: number, amount: number, limit: number): Promise<WindowCount> {
    const id = `${windowMs}:${key}`;
    if (amount === 0) {
      const c = await this.#inner.add(key, windowMs, 0, limit);
      const h = this.#held.get(id);
      return h && h.resetAt === c.resetAt ? { ...c, used: Math.max(0, c.used - h.left) } : c;
    }
    if (amount < 0) {
      // Back into the block what was spent from it; the rest (spent before it, or elsewhere) to the shared counter.
      const h = this.#block(id);
      const back = Math.min(-amount, h?.spent ?? 0);
      if (!h || back === 0) return this.#inner.add(key, windowMs, amount, limit);
      h.left += back;
      h.spent -= back;
      if (back < -amount) await this.#inner.add(key, windowMs, amount + back, limit);
      return { allowed: true, used: Math.max(0, h.used - h.left), resetAt: h.resetAt };
    }
    for (;;) {
      const h = this.#held.get(id);
      if (h?.pending) {
        // One reservation at a time per counter: the others wait for it, then look again.
        await h.pending;
        continue;
      }
      const block = this.#block(id) ?? this.#fresh(id);
      if (block.left >= amount) {
        block.left -= amount;
        block.spent += amount;
        return { allowed: true, used: block.used - block.left, resetAt: block.resetAt };
      }
      const reserving = this.#reserve(key, windowMs, block, amount, limit);
      block.pending = reserving.then(
        () => undefined,
        () => undefined,
      );
      try {
        const out = await reserving;
        if (out) return out;
      } finally {
        block.pending = undefined;
      }
    }
  }

  /**
   * Reserves what `amount` lacks (and, while blocks are used up fast, more) and spends `amount`;
   * or the refusal; or undefined when the window turned meanwhile and the block must grow again.
   */
  async #reserve(key: string, windowMs: number, h: Held, amount: number, limit: number): Promise<WindowCount | undefined> {
    const now = this.#clock.now();
    const cap = Math.max(1, Math.floor(limit * BLOCK_SHARE));
    const size = leaseSize(h, now, this.#leaseMs, cap);
    const least = amount - h.left;
    const r = await this.#inner.reserve(key, windowMs, least, Math.max(least, size), limit);
    // The shared window turned before ours: what was left counts in a window that is over.
    if (r.resetAt !== h.resetAt) {
      h.left = 0;
      h.spent = 0;
    }
    if (r.granted < least) return { allowed: false, used: Math.max(0, r.used - h.left), resetAt: r.resetAt };
    h.left += r.granted;
    h.resetAt = r.resetAt;
    h.at = now;
    h.size = r.granted;
    h.used = r.used;
    h.spent = 0;
    if (h.left < amount) return undefined;
    h.left -= amount;
    h.spent += amount;
    return { allowed: true, used: h.used - h.left, resetAt: h.resetAt };
  }

  /** The block of `id` while its window lasts (by this process's clock). */
  #block(id: string): Held | undefined {
    const h = this.#held.get(id);
    return h && h.resetAt > this.#clock.now() ? h : undefined;
  }

  #fresh(id: string): Held {
    const h: Held = { left: 0, resetAt: 0, at: Number.NEGATIVE_INFINITY, size: 1, used: 0, spent: 0, pending: undefined };
    this.#held.set(id, h);
    return h;
  }

  /** Gives back the blocks not spent within `leaseMs` (all of them with `all`), and forgets them. */
  async sweep(all = false): Promise<void> {
    const now = this.#clock.now();
    const releases: Promise<void>[] = [];
    for (const [id, h] of this.#held) {
      if (h.pending || (!all && now - h.at <= this.#leaseMs)) continue;
      this.#held.delete(id);
      if (h.left <= 0 || h.resetAt <= now) continue;
      const cut = id.indexOf(":");
      const key = id.slice(cut + 1);
      const windowMs = Number(id.slice(0, cut));
      releases.push(this.#inner.release(key, windowMs, h.resetAt, h.left).catch(this.#onError));
    }
    await Promise.all(releases);
  }

  /** Units this process holds reserved for a counter (tests). */
  held(key: string, windowMs: number): number {
    return this.#held.get(`${windowMs}:${key}`)?.left ?? 0;
  }

  async forget(suffix: string): Promise<void> {
    for (const id of [...this.#held.keys()]) if (id.endsWith(suffix)) this.#held.delete(id);
    await this.#inner.forget(suffix);
  }
}
