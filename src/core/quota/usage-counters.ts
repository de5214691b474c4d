/** The answer of one `UsageCounters.add`. */
export interface WindowCount {
  /** False when the add would have passed the limit (nothing was added). */
  readonly allowed: boolean;
  /** The window's count after the add (before it, when refused). */
  readonly used: number;
  /** When the window holding now ends (epoch ms): the count starts again at 0. */
  readonly resetAt: number;
}

/**
 * Counters over fixed windows (a UTC day, a minute) for the windowed quotas (SPEC §12): entries
 * and lethe writes per day, deposits per minute. A window is `[k·windowMs, (k+1)·windowMs)` on
 * the adapter's clock, so every gateway of a macronode counts in the same windows.
 * Obligations: `add` is atomic per key; it adds `amount` only when the count stays ≤ `limit`
 * (a refused add adds nothing); a negative `amount` gives back (never below 0) whatever the
 * limit; `amount` 0 reads. The in-memory adapter serves one process; the Redis adapter shares
 * counters across gateways.
 */
export interface UsageCounters {
  add(key: string, windowMs: number, amount: number, limit: number): Promise<WindowCount>;
  /** Drops every counter whose key ends with `suffix`, in every window (an erased user's: `:<user id>`). */
  forget(suffix: string): Promise<void>;
}

/** One day, the window of the per-day quotas (UTC days). */
export const DAY_MS = 86_400_000;
/** One minute, the window of the per-minute quotas. */
export const MINUTE_MS = 60_000;

/** The window of `windowMs` that holds `now`: its index and end (pure). */
export function windowAt(now: number, windowMs: number): { index: number; endsAt: number } {
  const index = Math.floor(now / windowMs);
  return { index, endsAt: (index + 1) * windowMs };
}
