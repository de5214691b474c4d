/** Time source. Every time-dependent rule takes a Clock so tests advance time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told; for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms;
  }
  /** Sets the absolute time. */
  set(ms: number): void {
    this.#now = ms;
  }
}

/** Formats epoch milliseconds as an ISO-8601 UTC string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
