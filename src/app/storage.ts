import { accessSync, constants } from "node:fs";
import { join, resolve } from "node:path";
import { FsBlobStore } from "../adapters/fs/fs-blob-store.js";
import { MemoryAuditLog } from "../adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../adapters/memory/memory-blob-store.js";
import { MemoryIdentityStore } from "../adapters/memory/memory-identity-store.js";
import { openDatabase } from "../adapters/sqlite/database.js";
import { SqliteAuditLog } from "../adapters/sqlite/sqlite-audit-log.js";
import { SqliteCladeStore } from "../adapters/sqlite/sqlite-clade-store.js";
import { SqliteEntryStore } from "../adapters/sqlite/sqlite-entry-store.js";
import { SqliteEventLog } from "../adapters/sqlite/sqlite-event-log.js";
import { SqliteIdentityStore } from "../adapters/sqlite/sqlite-identity-store.js";
import type { Config } from "../config/load.js";
import type { CladeStore } from "../core/fabric/clade.js";
import type { EventLog } from "../core/fabric/event-log.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { EntryStore } from "../core/knowledge/entry-store.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import { type DependencyCheck, probe } from "../core/platform/health.js";

/** The stores of one profile, with their health checks and a close. */
export interface Storage {
  readonly identity: IdentityStore;
  readonly audit: AuditLog;
  /** Knowledge entries and lethe: SQLite (micronode), SQLite in RAM (amnesia). */
  readonly entries: EntryStore;
  /** Blobs: files under `<dataDir>/blobs` (micronode), RAM (amnesia). */
  readonly blobs: BlobStore;
  /** Warm stream history and its cold-archive index (same database as entries). */
  readonly events: EventLog;
  /** Clade membership and the clade-delta outbox (same database as entries). */
  readonly clade: CladeStore;
  readonly checks: readonly DependencyCheck[];
  /** Where the data lives, for operators (never a credential). */
  readonly location: string;
  close(): Promise<void>;
}

/** Name of the micronode database file inside the data dir. */
export const DATABASE_FILE = "styx.db";

/** Thrown when a profile's backends are not part of this build yet. */
export class ProfileUnavailableError extends Error {
  override readonly name = "ProfileUnavailableError";
}

/**
 * Opens the configured backends: memory for amnesia, SQLite in the data dir for micronode.
 * The only place (with buildStyx) that knows concrete adapters.
 */
export function openStorage(config: Config, clock: Clock, opts: { readonly?: boolean } = {}): Storage {
  if (config.profile === "macro") {
    throw new ProfileUnavailableError(
      "STYX_PROFILE=macro needs the PostgreSQL, NATS, Redis and S3 adapters, which this build does not include yet; run the micronode (STYX_PROFILE=micro).",
    );
  }
  if (config.amnesia) {
    // Entries use the same SQLite code in RAM (":memory:", temp_store=MEMORY): FTS5 included, no file.
    const ram = openDatabase(":memory:");
    return {
      entries: new SqliteEntryStore(ram),
      events: new SqliteEventLog(ram),
      clade: new SqliteCladeStore(ram),
      identity: new MemoryIdentityStore(),
      audit: new MemoryAuditLog(clock),
      blobs: new MemoryBlobStore(),
      checks: [{ name: "memory", check: () => probe(() => "amnesia: RAM only, nothing is written to disk") }],
      location: "memory (amnesia)",
      close: async () => {
        if (ram.open) ram.close();
      },
    };
  }
  const dir = resolve(config.dataDir);
  const file = join(dir, DATABASE_FILE);
  const db = openDatabase(file, { readonly: opts.readonly ?? false });
  const ping = db.prepare("SELECT 1");
  return {
    identity: new SqliteIdentityStore(db),
    audit: new SqliteAuditLog(db, clock),
    entries: new SqliteEntryStore(db),
    events: new SqliteEventLog(db),
    clade: new SqliteCladeStore(db),
    blobs: new FsBlobStore(join(dir, "blobs")),
    checks: [
      // Details stay generic: health is public, and paths are for `styx doctor`.
      { name: "sqlite", check: () => probe(() => (ping.get(), "WAL")) },
      { name: "data_dir", check: () => probe(() => (accessSync(dir, constants.W_OK), "writable")) },
    ],
    location: file,
    close: async () => {
      if (db.open) db.close();
    },
  };
}
