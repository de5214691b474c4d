/** Rows of `audit_log` as audit records, for both adapters. */
import type { AuditRecord } from "../../core/platform/audit.js";
import type { SqlRow } from "./codec.js";

export function toAuditRecord(r: SqlRow): AuditRecord {
  return {
    seq: r.seq as number,
    ts: r.ts as number,
    actor: r.actor as string,
    action: r.action as string,
    target: r.target as string,
    requestId: (r.request_id as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
    details: r.details as string,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}
