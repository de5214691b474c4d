import type { Config } from "../../config/load.js";
import { OperatorError } from "../operator-error.js";
import type { BackupReport, Progress, RestoreReport } from "./report.js";

/**
 * Backs up the configured store to `file` while its server keeps running: a micronode's data
 * dir (micro-backup.ts) or a macronode cluster (macro-backup.ts; its STYX_SECRET_KEY lives in the
 * gateways' environment, so `withSecrets` is a micronode's only). The `backup.created` audit record
 * is keyed by STYX_SECRET_KEY (a micronode's data-dir file when unset). Refusals are BackupErrors.
 */
export async function backupStore(
  config: Config,
  file: string,
  progress: Progress,
  opts: { readonly withSecrets?: boolean } = {},
): Promise<BackupReport> {
  if (config.amnesia) throw new OperatorError("amnesia keeps nothing on disk: there is nothing to back up");
  // Loaded by profile: a micronode's backup never loads the PostgreSQL, NATS and S3 clients.
  if (config.profile === "macro") return (await import("./macro-backup.js")).backupMacro(config, file, progress);
  return (await import("./micro-backup.js")).backupMicro(config.dataDir, file, progress, { ...opts, secretKey: config.secretKey });
}

/**
 * Checks `file` from end to end, then loads it into the configured store, which must be empty.
 * A backup of the other profile is translated on the way (micro-to-macro.ts, macro-to-micro.ts).
 * The `backup.restored` audit record is keyed by the store's STYX_SECRET_KEY: the backup's own
 * (a micronode's taken --with-secrets) or else the configured one, which must be the original's.
 * Refusals are BackupErrors.
 */
export async function restoreStore(config: Config, file: string, progress: Progress): Promise<RestoreReport> {
  if (config.amnesia) throw new OperatorError("amnesia keeps nothing on disk: there is nothing to restore into");
  if (config.profile === "macro") return (await import("./macro-backup.js")).restoreMacro(config, file, progress);
  return (await import("./micro-backup.js")).restoreMicro(file, config.dataDir, progress, { secretKey: config.secretKey });
}
