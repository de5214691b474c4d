/**
 * The federation link's pacing (SPEC §17.2): reconnects after 1, 2, 4 … 60 s, jittered, the
 * count reset once a connection held; a refused link retried slowly; the outbox's pushes paced
 * the same way, or by the upstream's Retry-After. Pure.
 */

/** First reconnect delay. */
export const RECONNECT_BASE_MS = 1000;
/** Longest reconnect delay, and the pace of retries while the upstream refuses the link. */
export const RECONNECT_MAX_MS = 60_000;
/** A connection that held this long resets the backoff (the next loss retries after 1 s again). */
export const STABLE_CONNECTION_MS = 30_000;
/** Spread of each delay (±20 %), so downstreams that lost one upstream do not come back in step. */
export const JITTER = 0.2;

/** The wait before attempt `attempt` (0-based): 1 s · 2^attempt capped at 60 s, ±20 % jitter, never above 60 s. */
export function backoffMs(attempt: number, random: () => number, baseMs = RECONNECT_BASE_MS, maxMs = RECONNECT_MAX_MS): number {
  const plain = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(Math.min(maxMs, plain * (1 - JITTER + 2 * JITTER * random())));
}

/** The wait while the upstream refuses the link (401, 403, STYX_FEDERATION_LOOP): about a minute, never more. */
export function refusedRetryMs(random: () => number): number {
  return Math.round(RECONNECT_MAX_MS * (1 - JITTER + JITTER * random()));
}
