import { resolve } from "node:path";
import { BackupError } from "../app/backup/archive.js";
import { backupStore, restoreStore } from "../app/backup/backup.js";
import type { BackupReport, RestoreReport } from "../app/backup/report.js";
import { CliError, configFrom, parse } from "./args.js";
import { cliProgress } from "./progress.js";

export const BACKUP_HELP = `styx backup FILE [--with-secrets] [--data-dir DIR] [--profile micro|macro]
  Writes a consistent snapshot of the store to FILE while the server keeps running: a
  micronode's database, blobs, stream archives and secrets (read from the data dir), or a
  macronode cluster's PostgreSQL schema, JetStream event stream and S3 objects. FILE is
  gzip-compressed, ends with a BLAKE3 of its content and holds the server's secrets: it is
  written with mode 0600. Progress goes to stderr.
  STYX_SECRET_KEY (a micronode's data-dir file secret-key) is included only with
  --with-secrets: without it the backup links no source hash to a golem, and the restored
  server needs the original key in STYX_SECRET_KEY. A macronode's key is in the gateways'
  environment, never in the cluster: keep it with your deployment secrets.`;

export const RESTORE_HELP = `styx restore FILE [--data-dir DIR] [--profile micro|macro]
  Checks FILE from end to end (complete, unaltered), then loads it into an empty data dir
  (micronode; created when missing) or an empty cluster (macronode: STYX_CLUSTER names a
  schema, stream and bucket prefix holding nothing yet). Nothing is written when the check
  fails. A backup of one profile also restores into the other, translated and verified
  (a micronode's into a cluster: tables to PostgreSQL, history to JetStream, blobs to S3; a
  cluster's into a data dir the other way round; the backup must be of the newest schema):
  docs/runbooks/scale-out-from-micronode.md. Stream positions keep their seqs under a new
  epoch: clients resuming from before the restore get recovered: false (epoch_changed) and
  resync. A micronode backup taken
  without --with-secrets (and every macronode backup) needs STYX_SECRET_KEY set to the
  original's key: the restore's audit record is chained under it.`;

const kib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

/** The one FILE argument, resolved. */
function fileArg(positionals: string[], help: string): string {
  if (positionals.length !== 1) throw new CliError(`expected one FILE\n\n${help}`, 2);
  return resolve(positionals[0] as string);
}

/** `styx backup FILE`. */
export async function backup(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { "with-secrets": { type: "boolean" } });
  if (values.help) return (console.log(BACKUP_HELP), 0);
  const file = fileArg(positionals, BACKUP_HELP);
  const config = configFrom(values);
  const withSecrets = values["with-secrets"] === true;
  if (withSecrets && config.profile === "macro")
    throw new CliError(
      "--with-secrets: a macronode's STYX_SECRET_KEY lives in the gateways' environment, not in the cluster; back it up with your deployment secrets",
      2,
    );
  let r: BackupReport;
  try {
    r = await backupStore(config, file, cliProgress(), { withSecrets });
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(err.message);
    throw err;
  }
  console.log(
    `backup written to ${r.file}: ${r.tables} tables (${r.rows.toLocaleString("en-US")} rows), ${r.files} files (${kib(r.bytes)})` +
      `${r.messages ? `, ${r.messages.toLocaleString("en-US")} stream messages` : ""}; blake3 ${r.blake3}; ${(r.ms / 1000).toFixed(1)} s`,
  );
  if (config.profile === "micro" && !withSecrets)
    console.log("STYX_SECRET_KEY is not in the backup (--with-secrets adds it): keep it; the restored server needs it in STYX_SECRET_KEY");
  return 0;
}

/** `styx restore FILE`. */
export async function restore(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) return (console.log(RESTORE_HELP), 0);
  const file = fileArg(positionals, RESTORE_HELP);
  const config = configFrom(values);
  let r: RestoreReport;
  try {
    r = await restoreStore(config, file, cliProgress());
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(`restore refused: ${err.message}`);
    throw err;
  }
  console.log(
    `restored ${r.file} (taken ${r.createdAt}) into ${r.target}: ${r.tables} tables (${r.rows.toLocaleString("en-US")} rows), ${r.files} files (${kib(r.bytes)})` +
      `${r.messages ? `, ${r.messages.toLocaleString("en-US")} stream messages` : ""}` +
      `${r.migrated.length ? `; migrations ${r.migrated.join(", ")} applied` : ""}; new stream epoch ${r.epoch}; ${(r.ms / 1000).toFixed(1)} s`,
  );
  return 0;
}
