import { CircuitOpenError } from "./errors.js";

/** Circuit breaker states: calls pass (`closed`), are refused (`open`), or one trial passes (`half_open`). */
export type BreakerState = "closed" | "open" | "half_open";

/** Options of `CircuitBreaker`. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 3). */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through, in ms (default 60,000). */
  readonly openMs?: number;
  /** Time source in ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * Counts consecutive failures to reach Styx; after `failureThreshold` it opens and refuses
 * calls for `openMs`, then half-opens: one trial call passes, its success closes the circuit,
 * its failure opens it again. Shared by the HTTP client and the socket.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openedAt: number | null = null;
  #trialInFlight = false;
  readonly #listeners = new Set<(state: BreakerState) => void>();
  #last: BreakerState = "closed";

  constructor(opts: BreakerOptions = {}) {
    this.failureThreshold = opts.failureThreshold ?? 3;
    this.openMs = opts.openMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** The current state (an open circuit becomes half-open once `openMs` has passed). */
  get state(): BreakerState {
    if (this.#openedAt === null) return "closed";
    return this.#now() - this.#openedAt >= this.openMs ? "half_open" : "open";
  }

  /** Consecutive failures counted so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Calls `fn` with each state change; returns a function that removes it. */
  onChange(fn: (state: BreakerState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Takes permission for one call, or throws `CircuitOpenError`; follow with `success()` or `failure()`. */
  acquire(): void {
    const s = this.state;
    if (s === "closed") return;
    if (s === "half_open" && !this.#trialInFlight) {
      this.#trialInFlight = true;
      this.#notify();
      return;
    }
    const wait = s === "open" ? this.openMs - (this.#now() - (this.#openedAt ?? 0)) : this.openMs;
    throw new CircuitOpenError(wait);
  }

  /** Records that Styx answered: closes the circuit. */
  success(): void {
    this.#failures = 0;
    this.#openedAt = null;
    this.#trialInFlight = false;
    this.#notify();
  }

  /** Records a failure to reach Styx: opens the circuit at the threshold, or again after a failed trial. */
  failure(): void {
    this.#failures++;
    if (this.#trialInFlight || this.#failures >= this.failureThreshold) this.#openedAt = this.#now();
    this.#trialInFlight = false;
    this.#notify();
  }

  /** Runs `fn` under the breaker: `isFailure` decides which errors count as Styx being unreachable. */
  async run<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    this.acquire();
    try {
      const v = await fn();
      this.success();
      return v;
    } catch (err) {
      if (isFailure(err)) this.failure();
      else this.success();
      throw err;
    }
  }

  #notify(): void {
    const s = this.state;
    if (s === this.#last) return;
    this.#last = s;
    for (const fn of this.#listeners) fn(s);
  }
}
