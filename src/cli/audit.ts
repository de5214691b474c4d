import { verifyAuditLog } from "../app/offline.js";
import type { ChainHead } from "../core/platform/audit.js";
import { CliError, configFrom, parse } from "./args.js";

export const AUDIT_HELP = `styx audit verify [--head SEQ:HASH] [--data-dir DIR]
  Walks the audit log, whose records are chained by keyed hashes under STYX_SECRET_KEY (a
  micronode's comes from its data dir), and checks it against the stored head. Exits 1 naming
  the first missing, altered or unkeyed record: an edit or deletion, including a rewrite of
  records and head by someone without the key. Prints the head as SEQ:HASH; keep it outside the
  store and pass it back with --head to also detect the newest records deleted with the head
  moved back (which the stored head alone cannot show).`;

/** `styx audit verify`. */
export async function audit(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { head: { type: "string" } });
  if (values.help || positionals[0] !== "verify") return (console.log(AUDIT_HELP), values.help ? 0 : 2);
  const kept = values.head === undefined ? undefined : keptHead(values.head);
  const result = await verifyAuditLog(configFrom(values), kept);
  if (result.ok) {
    const sealed = result.unkeyed > 0 ? `; ${result.unkeyed} of them predate the keyed chain, each sealed by a keyed record after it` : "";
    console.log(`audit log intact: ${result.records} records, head ${result.records}:${result.head}${sealed}`);
    return 0;
  }
  console.error(`audit log BROKEN at record ${result.firstBad}: ${result.reason}`);
  return 1;
}

/** `--head SEQ:HASH`, as printed by an earlier verify. */
function keptHead(text: string): ChainHead {
  const m = /^(\d{1,15}):([0-9a-f]{24}|[0-9a-f]{64})$/.exec(text);
  if (!m) throw new CliError("--head must be SEQ:HASH as printed by an earlier `styx audit verify` (e.g. 42:3f…)", 2);
  return { seq: Number(m[1]), hash: m[2] as string };
}
