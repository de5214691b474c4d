/** Options of `reconnectDelay`. */
export interface BackoffOptions {
  /** The first delay, in ms (default 1,000: 1, 2, 4, 8, 16 … s). */
  readonly baseMs?: number;
  /** The longest delay, in ms (default 60,000). */
  readonly maxMs?: number;
  /** Spread as a fraction of the delay: ±20 % by default, so a fleet does not reconnect in step. */
  readonly jitter?: number;
  /** Random source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/** The wait before reconnect attempt `attempt` (0-based): base·2^attempt capped at max, with jitter, never above max. */
export function reconnectDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 60_000;
  const jitter = opts.jitter ?? 0.2;
  const random = opts.random ?? Math.random;
  const plain = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.min(max, Math.max(0, plain * (1 - jitter + 2 * jitter * random())));
}
