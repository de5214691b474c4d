/**
 * The last value of a slow reading (a directory walk, a database query, a pool probe), for
 * scrapes: `latest` never reads; `due` starts a reading in the background when the last one is
 * older than `everyMs` and none is running (at most one at a time), so a scrape never waits for
 * one and scrapes never pile readings up. A failed reading keeps the previous value and is reported.
 */
export class BackgroundSample<T> {
  readonly #read: () => Promise<T>;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  #latest: T | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;

  constructor(read: () => Promise<T>, opts: { everyMs: number; now: () => number; onError: (err: unknown) => void }) {
    this.#read = read;
    this.#everyMs = opts.everyMs;
    this.#now = opts.now;
    this.#onError = opts.onError;
  }

  /** The last value read (undefined before the first reading ends). */
  get latest(): T | undefined {
    return this.#latest;
  }

  /** Starts a reading when the last is older than `everyMs` (never awaited by its caller). */
  due(): void {
    if (!this.#running && this.#now() - this.#readAt >= this.#everyMs) void this.refresh();
  }

  /** Reads now (joining a reading already running). */
  refresh(): Promise<void> {
    this.#running ??= (async () => {
      try {
        this.#latest = await this.#read();
      } catch (err) {
        this.#onError(err);
      } finally {
        this.#readAt = this.#now();
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}
