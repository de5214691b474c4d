/** What the data of one Styx occupies, by kind (SPEC §12 operations; seed 000 §5 "storage > 80 % → scale up"). */

/** The kinds `styx_storage_bytes` reports. Disjoint: their sum is what the data fills. */
export const STORAGE_KINDS = ["database", "blobs", "history"] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

/** Bytes per kind. */
export type StorageUsage = { readonly [K in StorageKind]: number };

/**
 * Measures the bytes of each kind (micronode: the SQLite file and the blob dir; macronode: the
 * cluster's PostgreSQL tables, the blob bytes Styx tracks, the JetStream stream). May be slow (a
 * directory walk, queries): called off the request path only, by a StorageGauge.
 */
export interface StorageMeter {
  measure(): Promise<StorageUsage>;
}

/** The fraction of the capacity at which storage is nearly full (the alert's threshold). */
export const STORAGE_NEARLY_FULL = 0.8;
