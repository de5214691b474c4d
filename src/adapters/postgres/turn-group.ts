import { isPostgresOutage } from "./database.js";

/** What a group of one turn needs to know. */
export interface TurnGroupOptions<I, R> {
  /** Runs the items of a group in one transaction; answers in item order. */
  readonly run: (items: readonly I[]) => Promise<R[]>;
  /**
   * Keys of the rows an item may read and then change (a pheromone cell): an item sharing a key
   * with an earlier one of its turn waits for a later round, so it sees what the earlier did.
   */
  readonly keys?: (item: I) => readonly string[];
  /** An item's weight (rows); a group holds at most `maxWeight` (an item heavier than that runs alone). */
  readonly weight?: (item: I) => number;
  readonly maxWeight?: number;
  /** Groups in flight at once (default 2); items added meanwhile wait and go out together in the next. */
  readonly maxInFlight?: number;
}

interface Waiting<I, R> {
  readonly item: I;
  readonly resolve: (r: R) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit on PostgreSQL: the items added in one turn of the event loop (concurrent
 * requests of this gateway) run together in one transaction, in rounds when they must (a key
 * shared with an earlier item, or a group full), and every caller resolves once its group
 * committed. At most `maxInFlight` groups are out at once: while they are, the items added wait
 * and go out together next (a busy gateway's transactions grow instead of multiplying; an idle
 * one sends each item in the turn it came). A group that fails is run again item by item, each in
 * its own transaction, so a failing item rejects alone and its neighbours commit as if they had
 * come alone; an outage rejects the whole group (a lost COMMIT may have landed: running it again
 * could apply it twice).
 *
 * A group goes out at `setImmediate`, in the check phase of the turn that added its first item
 * (or that saw a group in flight end): requests parsed in the same poll phase share it.
 */
export class TurnGroup<I, R> {
  readonly #o: TurnGroupOptions<I, R>;
  #queue: Waiting<I, R>[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(options: TurnGroupOptions<I, R>) {
    this.#o = options;
  }

  /** Runs `item` in the next group; resolves with its answer once the group committed, or rejects with its own failure. */
  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#inFlight >= (this.#o.maxInFlight ?? 2)) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#queue.length === 0 || this.#inFlight >= (this.#o.maxInFlight ?? 2)) return;
    const waiting = this.#queue;
    this.#queue = [];
    this.#inFlight++;
    try {
      for (const round of this.#rounds(waiting)) await this.#runRound(round);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }

  /** The turn's items in rounds: each after every earlier round holding one of its keys, within the weight. */
  #rounds(waiting: readonly Waiting<I, R>[]): Waiting<I, R>[][] {
    const { keys, weight, maxWeight = Number.POSITIVE_INFINITY } = this.#o;
    const rounds: { items: Waiting<I, R>[]; weight: number }[] = [];
    const lastRoundOf = new Map<string, number>();
    for (const w of waiting) {
      const ks = keys?.(w.item) ?? [];
      let r = 0;
      for (const k of ks) r = Math.max(r, (lastRoundOf.get(k) ?? -1) + 1);
      const wt = weight?.(w.item) ?? 1;
      const full = (round: { items: unknown[]; weight: number } | undefined) =>
        round !== undefined && round.items.length > 0 && round.weight + wt > maxWeight;
      while (full(rounds[r])) r++;
      const round = rounds[r] ?? { items: [], weight: 0 };
      rounds[r] = round;
      round.items.push(w);
      round.weight += wt;
      for (const k of ks) lastRoundOf.set(k, r);
    }
    return rounds.map((r) => r.items);
  }

  async #runRound(round: readonly Waiting<I, R>[]): Promise<void> {
    try {
      const answers = await this.#o.run(round.map((w) => w.item));
      for (const [i, w] of round.entries()) w.resolve(answers[i] as R);
      return;
    } catch (err) {
      if (round.length === 1 || isPostgresOutage(err)) {
        for (const w of round) w.reject(err);
        return;
      }
    }
    // In order, each alone: the failing one rejects with its own error.
    for (const w of round) {
      try {
        const [answer] = await this.#o.run([w.item]);
        w.resolve(answer as R);
      } catch (err) {
        w.reject(err);
      }
    }
  }
}
