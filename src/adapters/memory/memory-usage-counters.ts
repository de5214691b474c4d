import type { Clock } from "../../core/platform/clock.js";
import type { CounterReservations, Reservation } from "../../core/quota/leased-counters.js";
import { type UsageCounters, type WindowCount, windowAt } from "../../core/quota/usage-counters.js";

/** Adds between sweeps of counters whose window has passed. */
const SWEEP_EVERY = 10_000;

/**
 * Windowed counters in process memory: the micronode's (its counts start again at a restart, as
 * its rate buckets do), and a macronode gateway's own while Redis is down. Memory stays bounded:
 * every 10,000 adds, counters of past windows are dropped. Its reservations serve tests of
 * LeasedUsageCounters (several of them over one of these stand for gateways over Redis).
 */
export class MemoryUsageCounters implements UsageCounters, CounterReservations {
  readonly #counts = new Map<string, { endsAt: number; used: number }>();
  readonly #clock: Clock;
  #adds = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async add(key: string, windowMs: number, amount: number, limit: number): Promise<WindowCount> {
    const now = this.#clock.now();
    if (++this.#adds % SWEEP_EVERY === 0) this.#sweep(now);
    const { endsAt } = windowAt(now, windowMs);
    const id = `${windowMs}:${key}`;
    const prev = this.#counts.get(id);
    const used = prev && prev.endsAt === endsAt ? prev.used : 0;
    const next = Math.max(0, used + amount);
    if (amount > 0 && next > limit) return { allowed: false, used, resetAt: endsAt };
    this.#counts.set(id, { endsAt, used: next });
    return { allowed: true, used: next, resetAt: endsAt };
  }

  async reserve(key: string, windowMs: number, least: number, want: number, limit: number): Promise<Reservation> {
    const now = this.#clock.now();
    const { endsAt } = windowAt(now, windowMs);
    const id = `${windowMs}:${key}`;
    const prev = this.#counts.get(id);
    const used = prev && prev.endsAt === endsAt ? prev.used : 0;
    const room = limit - used;
    if (room < least || room <= 0) return { granted: 0, used, resetAt: endsAt };
    const granted = Math.min(want, room);
    this.#counts.set(id, { endsAt, used: used + granted });
    return { granted, used: used + granted, resetAt: endsAt };
  }

  async release(key: string, windowMs: number, resetAt: number, amount: number): Promise<void> {
    const c = this.#counts.get(`${windowMs}:${key}`);
    if (c && c.endsAt === resetAt) c.used = Math.max(0, c.used - amount);
  }

  async forget(suffix: string): Promise<void> {
    for (const id of [...this.#counts.keys()]) if (id.endsWith(suffix)) this.#counts.delete(id);
  }

  /** Counters held (for tests). */
  get size(): number {
    return this.#counts.size;
  }

  #sweep(now: number): void {
    for (const [id, c] of this.#counts) if (c.endsAt <= now) this.#counts.delete(id);
  }
}
