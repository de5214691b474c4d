import { OfflineQueueFullError } from "./errors.js";

interface Waiting<T, R> {
  readonly item: T;
  /** The write's place in the order its caller made it (see push). */
  readonly order: number;
  readonly resolve: (v: R) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Holds writes while Styx is unreachable, in order, up to `max` (default 1,000); beyond that
 * `push` rejects with `OfflineQueueFullError`. Each pushed write resolves when `flush` finally
 * delivers it.
 */
export class OfflineQueue<T, R> {
  readonly max: number;
  readonly #items: Waiting<T, R>[] = [];

  constructor(max = 1000) {
    this.max = max;
  }

  /** Writes waiting. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * Queues `item` at its place by `order` (the order its caller made the writes): writes sent
   * at once while Styx was going away fail in any order (the first ones wait for the network,
   * later ones are refused at once by the open circuit), and each is queued where it belongs.
   * Without `order`, the write goes last. The promise settles when it is delivered (or refused by Styx).
   */
  push(item: T, order = Number.POSITIVE_INFINITY): Promise<R> {
    if (this.#items.length >= this.max) return Promise.reject(new OfflineQueueFullError(this.max));
    return new Promise<R>((resolve, reject) => {
      let at = this.#items.length;
      while (at > 0 && (this.#items[at - 1] as Waiting<T, R>).order > order) at--;
      this.#items.splice(at, 0, { item, order, resolve, reject });
    });
  }

  /**
   * Sends the waiting writes in order with `send`. A write Styx refuses (`isUnavailable` false)
   * is rejected and dropped; when Styx is unavailable again the flush stops, keeping that write
   * first. Returns how many writes are left.
   */
  async flush(send: (item: T) => Promise<R>, isUnavailable: (err: unknown) => boolean): Promise<number> {
    while (this.#items.length > 0) {
      const head = this.#items[0] as Waiting<T, R>;
      try {
        const r = await send(head.item);
        this.#items.shift();
        head.resolve(r);
      } catch (err) {
        if (isUnavailable(err)) return this.#items.length;
        this.#items.shift();
        head.reject(err);
      }
    }
    return 0;
  }

  /** Rejects every waiting write with `err` and empties the queue. */
  clear(err: unknown): void {
    for (const w of this.#items.splice(0)) w.reject(err);
  }
}
