import type { StreamPosition } from "../fabric/history.js";
import type { FederationRecord } from "./records.js";

/**
 * A local record waiting in the outbox for the upstream. `seq` orders the outbox (and is
 * the handle to ack it); `attempts` and `nextAt` pace retries.
 */
export interface OutboxItem {
  readonly seq: number;
  readonly record: FederationRecord;
  readonly enqueuedAt: number;
  readonly attempts: number;
  readonly nextAt: number;
}

/** An own record waiting in the relay outbox for this Styx's downstreams (`seq` orders it and acks it). */
export interface RelayItem {
  readonly seq: number;
  readonly record: FederationRecord;
  readonly enqueuedAt: number;
}

/**
 * What a Styx records of its federation (SPEC §17): the records applied (each (origin, id)
 * once), the down-link's cursors, the up-link's outbox, and (upstream side) the relay outbox of
 * own records for the downstreams. Micronode: SQLite (amnesia: `:memory:`, so all of it is gone
 * at restart and the link takes the snapshot); macronode: PostgreSQL, shared by the gateways
 * (only the leader runs the link and the relay).
 *
 * Obligations:
 * - `claim` is atomic across processes: of concurrent claims of one (origin, id) exactly one
 *   answers true, ever (until `release` of that pair). A record is claimed before it is
 *   applied and released when applying it failed, so a crash between the two loses it rather
 *   than applying it twice.
 * - Both outboxes are written by the stores of the facts themselves, in the transaction of the
 *   write (PheromoneStore.deposit, CausalStore.publish, EntryStore.publishLethe/reinforceLethe
 *   take an `OutboxEntry`: `up` → the outbox, `down` → the relay outbox), so a fact stored is a
 *   fact queued. `due` lists outbox items in `seq` order; `ack` deletes them; `retry` pushes an
 *   item's `nextAt` and counts an attempt; `drop` deletes expired items and answers how many of
 *   each kind it dropped. `relayPending` lists relay items in `seq` order (a seq never reused);
 *   `relayed` deletes them once published.
 */
export interface FederationStore {
  /** Records (or replaces) a downstream's link at hello (upstream side), by the key it used. */
  saveLink(link: FederationLink): Promise<void>;
  /** The link of a federate key, if it said hello. */
  link(keyId: string): Promise<FederationLink | undefined>;
  /** Every downstream linked here (the admin view). */
  links(): Promise<FederationLink[]>;
  /** Notes when a link was last heard from (a push, a subscribe, a snapshot). */
  touchLink(keyId: string, at: number): Promise<void>;

  /** Marks (origin, id) applied; false when it already was. */
  claim(origin: string, id: string, now: number): Promise<boolean>;
  /** Forgets a claim whose record could not be applied (it may come again). */
  release(origin: string, id: string): Promise<void>;

  /** The stored position of the down-link on `stream` (`federation:{domain}`), if any. */
  cursor(stream: string): Promise<StreamPosition | undefined>;
  /** Stores the position after the record at it was applied (never moves a cursor of the same epoch back). */
  saveCursor(stream: string, position: StreamPosition): Promise<void>;
  /** Every stored cursor (the admin view). */
  cursors(): Promise<ReadonlyMap<string, StreamPosition>>;

  /** Outbox items due at `now`, oldest first, at most `limit`. */
  due(now: number, limit: number): Promise<OutboxItem[]>;
  /** Deletes the items (sent and answered, accepted or refused for good). */
  ack(seqs: readonly number[]): Promise<void>;
  /** Counts an attempt of each item and defers it to `nextAt`. */
  retry(seqs: readonly number[], nextAt: number): Promise<void>;
  /** Deletes items enqueued before `before`; answers how many of each record kind went. */
  drop(before: number): Promise<ReadonlyMap<string, number>>;
  /** How many items wait. */
  depth(): Promise<number>;
  /** Deletes claims older than `before` (the dedup window; records older than it are refused as stale anyway). */
  forgetClaims(before: number): Promise<number>;

  /** Relay items waiting for the downstreams, oldest first, at most `limit`. */
  relayPending(limit: number): Promise<RelayItem[]>;
  /** Deletes relay items (published on their stream). */
  relayed(seqs: readonly number[]): Promise<void>;
  /** How many relay items wait. */
  relayDepth(): Promise<number>;
}

/**
 * A downstream as its upstream knows it (SPEC §17.2 hello): the federate key it speaks with,
 * the user that key belongs to (the federation user, who pays for records sent down), its
 * instance id, and what was agreed.
 */
export interface FederationLink {
  readonly keyId: string;
  readonly userId: string;
  readonly instanceId: string;
  readonly version: string;
  /** Agreed flows as STYX_FEDERATE writes them (`pheromone`, `lethe:down`, …). */
  readonly flows: readonly string[];
  /** Agreed domains (`*` for all). */
  readonly domains: readonly string[];
  readonly embedDim: number;
  readonly helloAt: number;
  readonly lastSeenAt: number;
}

/**
 * An own record as a fact's store takes it with the write (see FederationStore): into the outbox
 * for the upstream when `up`, into the relay outbox for the downstreams when `down` (at least one).
 */
export interface OutboxEntry {
  readonly record: FederationRecord;
  readonly enqueuedAt: number;
  readonly up: boolean;
  readonly down: boolean;
}
