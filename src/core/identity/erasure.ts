import type { DeathRecord } from "../coordination/death.js";
import { blake3Hex } from "../platform/crypto.js";

/** What an erasure removes: one golem of a user, or a user with everything of theirs (SPEC §3). */
export type ErasureTarget =
  | { readonly kind: "golem"; readonly userId: string; readonly golemId: string }
  | { readonly kind: "user"; readonly userId: string };

/** Where a job stands: queued or part-way (resumed after a crash), or finished. */
export type ErasureState = "running" | "done";

/**
 * One durable erasure (table `erasure_jobs`). `step` counts the steps finished: a resumed job
 * starts again at step `step`, and every step may run twice (each is idempotent). While it
 * runs the row names its target; once done, only the kind stays (the ids go with the rest).
 */
export interface ErasureJob {
  readonly id: string;
  /** The user the job was asked for (null once done: the row keeps no id of what it erased). */
  readonly target: ErasureTarget | null;
  readonly kind: ErasureTarget["kind"];
  /** Who asked: `admin` or `user:<id>` (the owner of an erased golem; null once that user is erased too). */
  readonly requestedBy: string | null;
  readonly state: ErasureState;
  readonly step: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

/**
 * The steps of each kind, in order. Credentials go first (nothing new is written while the job
 * runs); a golem's rows go before its entries (an owner's write naming it fails from then on);
 * a user's rows go last (the golems named by the earlier steps are read from them).
 */
export const ERASURE_STEPS = {
  golem: ["credentials", "presence", "records", "entries", "history"],
  user: ["credentials", "presence", "history", "entries", "blobs", "records"],
} as const satisfies Record<ErasureTarget["kind"], readonly string[]>;

/** A step name of either kind. */
export type ErasureStep = (typeof ERASURE_STEPS)[ErasureTarget["kind"]][number];

/** What stands in a death record for an erased user (SPEC §3: the record stays, anonymized). */
export const ERASED_USER = "erased";

/**
 * The id a death record takes once its golem is erased: derived from the job and the golem,
 * so a resumed step writes the same one, and without the job's secret-free id nobody can tell
 * which golem it was (the job row forgets the golem when it finishes).
 */
export function erasedGolemAlias(jobId: string, golemId: string): string {
  return `erased-${blake3Hex(`${jobId}\u0000${golemId}`).slice(0, 24)}`;
}

/** The stand-in for an erased user in the marketplace's financial records (one per job, not derivable without its id). */
export function erasedUserAlias(jobId: string): string {
  return `erased-${blake3Hex(`${jobId}\u0000user`).slice(0, 24)}`;
}

/**
 * A death record as it stays after an erasure (SPEC §3): the golem's id replaced by `alias`, the
 * user's by ERASED_USER when the user goes too; the golem's own words (testament, somatic
 * fragment) and the ids of its erased entries dropped. Cause, times, generation, counts, final
 * phase, PAD, NAV, domains and the public pheromones stay: they are the graveyard's facts.
 */
export function anonymizedDeath(d: DeathRecord, alias: string, userErased: boolean): DeathRecord {
  return {
    ...d,
    golemId: alias,
    userId: userErased ? ERASED_USER : d.userId,
    testamentExcerpt: null,
    somaticFragment: null,
    result: { ...d.result, golemId: alias, entryIds: [] },
  };
}

/**
 * Durable erasure jobs and the rows an erasure removes from the profile's database (micronode:
 * SQLite; macronode: PostgreSQL). Obligations: `create` returns the running job of the same
 * target when there is one (an erasure asked twice is one job); each erase method runs in one
 * transaction and is idempotent (a second run finds nothing to do).
 */
export interface ErasureStore {
  /** Stores `job`, or returns the running job of the same target. */
  create(job: ErasureJob): Promise<ErasureJob>;
  get(id: string): Promise<ErasureJob | undefined>;
  /** Jobs not done, oldest first, at most `limit`. */
  unfinished(limit: number): Promise<ErasureJob[]>;
  /** Records that steps before `step` are done. */
  advance(id: string, step: number, at: number): Promise<void>;
  /** Marks the job done and forgets its target. */
  finish(id: string, at: number): Promise<void>;
  /**
   * Removes golem `golemId`'s rows: its clade membership and pending clade deltas (addressed to
   * it or naming it), achievements, its entry of the sealed source directory (`sourceHash`),
   * votes, sessions, keys (already revoked) with the federation links they said hello with, its
   * death record replaced by `death` (anonymized) when given, its children's parent link, its
   * name on marketplace listings and purchases (they stay, unlinked), then the golem.
   */
  eraseGolemRecords(golemId: string, sourceHash: string, death: DeathRecord | undefined): Promise<void>;
  /**
   * Removes user `userId`'s rows once its golems are erased: keys, sessions, quotas, orphan marks,
   * federation links (SPEC §17: a downstream linked with the user's federate key), its name on
   * the erasure jobs it asked for, then the user. The marketplace (SPEC §3, §16):
   * the user's listings end at once (active → withdrawn) and are purged (escrow wrap, embedding,
   * description and preview dropped; the ciphertext went with the user's blobs), their title and
   * price stay for their buyers' records; purchases and payouts are financial records (like the
   * payments ledger): they stay with `alias` in place of the user as seller or buyer, so a seller
   * is still paid what was owed at its payout address, and a buyer's wrapped CEK is dropped; the
   * user's ratings keep their stars (the listings' averages) under `alias`, without the comment.
   * A federate key's downstream buyers (`<user>:<ref>`, marketplace/buyer.ts) become `<alias>:<ref>` alike,
   * so they stay distinct buyers.
   * `at`: when the listings ended and were purged.
   */
  eraseUserRecords(userId: string, alias: string, at: number): Promise<void>;
}
