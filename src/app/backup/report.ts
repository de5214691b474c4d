import type { AuditInput } from "../../core/platform/audit.js";

/** Where backup and restore report how far they are (the CLI draws it: a bar on a terminal, plain lines otherwise). */
export interface Progress {
  /** A phase begins (`backup`, `verify`, `restore`) with `total` units (rows and file chunks; 0 when unknown). */
  start(phase: string, total: number): void;
  /** A section begins: `label` (e.g. `table entries`) with `units` to come. */
  section(label: string, units: number): void;
  advance(units: number): void;
  /** The phase is over. */
  done(): void;
}

/** A Progress that reports nothing. */
export const silentProgress: Progress = { start() {}, section() {}, advance() {}, done() {} };

/** What `backup` wrote. */
export interface BackupReport {
  readonly file: string;
  readonly tables: number;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  /** Macronode: JetStream messages (batches of events) copied. */
  readonly messages: number;
  readonly blake3: string;
  readonly ms: number;
}

/**
 * The audit record of a successful backup: the server's
 * `styx_backup_last_success_timestamp_seconds` gauge is the time of the newest one.
 */
export function backupCreated(r: BackupReport): AuditInput {
  return {
    actor: "cli",
    action: "backup.created",
    target: "",
    details: { rows: r.rows, files: r.files, bytes: r.bytes, messages: r.messages, blake3: r.blake3, ms: r.ms },
  };
}

/**
 * The audit record of a successful restore: which backup (its time and hash), the new stream
 * epoch, and `from` when the backup was of the other profile (a micronode's into a cluster, or back).
 */
export function backupRestored(
  backup: { readonly created_at: string; readonly blake3: string },
  epoch: string,
  from?: "micro" | "macro",
): AuditInput {
  return {
    actor: "cli",
    action: "backup.restored",
    target: "",
    details: { backup_created_at: backup.created_at, backup_blake3: backup.blake3, epoch, ...(from ? { from } : {}) },
  };
}

/** What `restore` loaded. */
export interface RestoreReport {
  readonly file: string;
  /** The data dir (micronode) or the cluster (macronode) restored into. */
  readonly target: string;
  readonly tables: number;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  readonly messages: number;
  /** The new stream epoch. */
  readonly epoch: string;
  /** Migrations applied after loading (the backup's schema was older). */
  readonly migrated: readonly number[];
  readonly createdAt: string;
  readonly ms: number;
}
