import { verifyAuditLog } from "../app/offline.js";
import { configFrom, parse } from "./args.js";

export const AUDIT_HELP = `styx audit verify [--data-dir DIR]
  Walks the hash-chained audit log; exits 1 naming the first missing or altered record.`;

/** `styx audit verify`. */
export async function audit(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help || positionals[0] !== "verify") return (console.log(AUDIT_HELP), values.help ? 0 : 2);
  const result = await verifyAuditLog(configFrom(values));
  if (result.ok) {
    console.log(`audit log intact: ${result.records} records, head ${result.head}`);
    return 0;
  }
  console.error(`audit log BROKEN at record ${result.firstBad}: ${result.reason}`);
  return 1;
}
