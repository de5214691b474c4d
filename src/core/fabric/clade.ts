import type { SequencedEvent } from "./event-bus.js";

/** A golem registered for clade sync with its siblings (the other registered golems of its owner). */
export interface CladeMember {
  readonly golemId: string;
  readonly userId: string;
  /** Domains the golem works in (informational, for peers). */
  readonly domains: readonly string[];
  readonly registeredAt: number;
}

/** How long an undelivered clade delta waits for an offline sibling (SPEC §8: 7 days). */
export const CLADE_DELTA_TTL_MS = 7 * 86_400_000;
/** Most deltas held for one offline sibling; beyond it the oldest are dropped (and counted). */
export const CLADE_OUTBOX_MAX = 1000;

/**
 * Clade membership and the store-and-forward outbox of clade deltas (micronode: SQLite;
 * macronode: PostgreSQL).
 * Obligations: `take` returns a recipient's unexpired deltas in enqueue order and removes
 * them in the same step (each is handed out once); expired deltas are never returned.
 */
export interface CladeStore {
  /** Registers or re-registers a golem (its domains replaced). */
  register(member: CladeMember): Promise<void>;
  /** The registered golems of a user, oldest registration first. */
  members(userId: string): Promise<CladeMember[]>;
  /** Holds `event` for each recipient until `expiresAt`; returns how many older deltas were dropped to stay under `max`. */
  enqueue(recipients: readonly string[], event: SequencedEvent, expiresAt: number, max: number): Promise<number>;
  /** Hands out (and forgets) a recipient's deltas still valid at `now`, oldest first, at most `limit`. */
  take(recipient: string, now: number, limit: number): Promise<SequencedEvent[]>;
  /** Forgets deltas expired at `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}
