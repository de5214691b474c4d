import type { Pad } from "../fabric/presence.js";
import type { OutboxEntry } from "../federation/federation-store.js";
import type { Entry, LetheCandidate, NewEntry } from "../knowledge/types.js";
import type { DepositOutcome, PheromoneDeposit } from "./pheromone-store.js";

/** What a bloodstain upload answers (stored with the death, so a repeat gets the same answer). */
export interface BloodstainResult {
  readonly golemId: string;
  readonly diedAt: number;
  /** Clade entries made from the warnings. */
  readonly entryIds: readonly string[];
  /** Threat pheromones (one per warning), then wisdom pheromones (one per causal edge). */
  readonly pheromoneIds: readonly string[];
  /** Warnings queued for lethe (when the owner opted in). */
  readonly letheQueued: number;
}

/** A death in the registry (the graveyard reads these). */
export interface DeathRecord {
  readonly golemId: string;
  readonly userId: string;
  readonly generation: number;
  readonly deathCause: string;
  /** When the golem died (its own timestamp). */
  readonly diedAt: number;
  /** When Styx recorded it. */
  readonly recordedAt: number;
  readonly ticksLived: number;
  readonly warnings: number;
  readonly causalEdges: number;
  readonly testamentExcerpt: string | null;
  readonly somaticFragment: Record<string, unknown> | null;
  /** Whether a wallet signature was verified. */
  readonly signed: boolean;
  /** When the golem was registered (null for deaths recorded before migration 10 whose golem row was gone). */
  readonly bornAt: number | null;
  /** The phase, PAD and NAV of the golem's last heartbeat before it died (null: none heard, or recorded before migration 10). */
  readonly finalPhase: string | null;
  readonly finalPad: Pad | null;
  readonly finalNav: number | null;
  /** The domains the bloodstain touched (its warnings' and causal edges'), in public form, sorted. */
  readonly domains: readonly string[];
  readonly result: BloodstainResult;
}

/** How long a golem lived: from its registration to its death, in ms (null when its birth is unknown). */
export function lifespanMs(d: Pick<DeathRecord, "bornAt" | "diedAt">): number | null {
  return d.bornAt === null ? null : Math.max(0, d.diedAt - d.bornAt);
}

/** Everything a death changes besides its record. */
export interface DeathEffects {
  readonly entries: readonly { readonly entry: NewEntry; readonly lethe?: LetheCandidate | undefined }[];
  readonly deposits: readonly PheromoneDeposit[];
  /** The federation outbox entries of the deposits that go up or down (SPEC §17.2), by deposit id: written with them. */
  readonly outbox?: ReadonlyMap<string, OutboxEntry> | undefined;
}

/** Where a graveyard page starts after (newest first). */
export interface GraveyardCursor {
  readonly diedAt: number;
  readonly golemId: string;
}

/**
 * The death registry (micronode: SQLite; macronode: PostgreSQL).
 * Obligations: `record` applies the death and all its effects in one transaction — the golem
 * marked dead, the record, the entries (and lethe candidates), the pheromone deposits — or
 * none of them; a golem that already has a record gets that record back and nothing is
 * written. Graveyard pages are ordered by (diedAt, golemId) descending, so they are stable.
 */
export interface DeathStore {
  find(golemId: string): Promise<DeathRecord | undefined>;
  record(
    death: Omit<DeathRecord, "result">,
    effects: DeathEffects,
    now: number,
    resultOf: (entries: readonly Entry[], deposits: readonly DepositOutcome[]) => BloodstainResult,
  ): Promise<{ record: DeathRecord; created: boolean; entries: readonly Entry[]; deposits: readonly DepositOutcome[] }>;
  graveyard(userId: string, limit: number, after?: GraveyardCursor): Promise<DeathRecord[]>;
  /** The newest deaths of every user, by (diedAt, golemId) descending, at most `limit` (the admin dashboard). */
  recent(limit: number): Promise<DeathRecord[]>;
  /** The golem whose death of this user was recorded first, if any (the clade's first bloodstain). */
  firstOfUser(userId: string): Promise<string | undefined>;
  /** Deaths in all, and since `since`. */
  counts(since: number): Promise<{ readonly total: number; readonly since: number }>;
}
