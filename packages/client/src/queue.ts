import { OfflineQueueFullError } from "./errors.js";

interface Waiting<T, R> {
  readonly item: T;
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

  /** Queues `item`; the promise settles when it is delivered (or refused by Styx). */
  push(item: T): Promise<R> {
    if (this.#items.length >= this.max) return Promise.reject(new OfflineQueueFullError(this.max));
    return new Promise<R>((resolve, reject) => this.#items.push({ item, resolve, reject }));
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
