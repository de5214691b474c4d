import type { LimitsOverride } from "./limits.js";

/**
 * What the quotas keep durably per user: the admin's override of the user's limits, and the
 * bytes of the blobs the user stored (entries' bytes are read from the entry store itself).
 * Obligations: `setOverride` replaces the whole override (undefined or an empty one clears it)
 * for an existing user; `addBlobBytes` is atomic (concurrent adds all count), works for a
 * user with no row yet and, given a negative count (a released blob), never goes below 0; both survive restarts (SQLite file, PostgreSQL).
 */
export interface QuotaStore {
  /** The admin's override of `userId`'s limits, or undefined when none is set. */
  getOverride(userId: string): Promise<LimitsOverride | undefined>;
  setOverride(userId: string, override: LimitsOverride | undefined, at: number): Promise<void>;
  /** Bytes of the blobs `userId` stored (each cid once per user); 0 for a user never seen. */
  blobBytes(userId: string): Promise<number>;
  addBlobBytes(userId: string, bytes: number): Promise<void>;
}

/** Whether an override sets nothing (the same as none). */
export function isEmptyOverride(o: LimitsOverride | undefined): boolean {
  return !o || (o.rate === undefined && o.burst === undefined && Object.values(o.quotas ?? {}).every((v) => v === undefined));
}
