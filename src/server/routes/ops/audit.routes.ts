import type { FastifyInstance } from "fastify";
import type { AuditLog } from "../../../core/platform/audit.js";
import { iso } from "../../../core/platform/clock.js";
import { ErrorBody } from "../../../protocol/common.js";
import { AuditPage, AuditQuery, AuditVerifyView } from "../../../protocol/ops.js";

const admin = { auth: "admin" } as const;
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** The audit log for the operator: paged records and a chain check (admin token). */
export function auditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): void {
  app.get<{ Querystring: { after?: number; limit?: number } }>(
    "/v1/admin/audit",
    {
      config: admin,
      schema: {
        tags: ["admin"],
        summary: "Audit records after a sequence number",
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors },
      },
    },
    async (req) => {
      const after = req.query.after ?? 0;
      const records = await deps.audit.list(after, req.query.limit ?? 100);
      return {
        records: records.map((r) => ({
          seq: r.seq,
          ts: iso(r.ts),
          actor: r.actor,
          action: r.action,
          target: r.target,
          request_id: r.requestId,
          ip: r.ip,
          details: JSON.parse(r.details) as unknown,
          prev_hash: r.prevHash,
          hash: r.hash,
        })),
        next_after: records.at(-1)?.seq ?? after,
      };
    },
  );

  app.get(
    "/v1/admin/audit/verify",
    {
      config: admin,
      schema: { tags: ["admin"], summary: "Walk the keyed hash chain of the audit log", response: { 200: AuditVerifyView, ...errors } },
    },
    async () => {
      const v = await deps.audit.verify();
      return v.ok
        ? { ok: true, records: v.records, head: v.head, unkeyed: v.unkeyed }
        : { ok: false, records: v.records, first_bad: v.firstBad, reason: v.reason };
    },
  );
}
