import type { FastifyInstance } from "fastify";
import { QUOTA_NAMES } from "../../../core/quota/limits.js";
import type { QuotaService } from "../../../core/quota/quota-service.js";
import { ErrorBody, UserIdParams } from "../../../protocol/common.js";
import { UsageOverrideBody, UsageView } from "../../../protocol/quota.js";
import { userPrincipal } from "../../context.js";
import { presentUsage } from "../../presenters/quota.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/**
 * Per-user usage and limits (SPEC §12): the caller's own (`GET /v1/styx/usage`, an owner view:
 * 403 to golem credentials, SPEC §3), and the admin's view and override of any user's.
 */
export function usageRoutes(app: FastifyInstance, deps: { quotas: QuotaService }): void {
  const { quotas } = deps;

  app.get(
    "/v1/styx/usage",
    {
      config: { golemCredential: "owner-only" },
      schema: {
        tags: ["usage"],
        summary: "The caller's usage and limits: every quota (limit, used), the request bucket, the admin's override",
        response: { 200: UsageView, ...errors },
      },
    },
    async (req) => presentUsage(await quotas.usage(userPrincipal(req).userId)),
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/admin/users/:user_id/usage",
    {
      config: { auth: "admin" },
      schema: { tags: ["admin"], summary: "A user's usage and limits", params: UserIdParams, response: { 200: UsageView, ...errors } },
    },
    async (req) => presentUsage(await quotas.usage(req.params.user_id)),
  );

  app.put<{ Params: { user_id: string }; Body: UsageOverrideBody }>(
    "/v1/admin/users/:user_id/usage",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary:
          "Set a user's tier (optional; audited as user.tier) and override of the tier's limits (the whole override; {} clears it; audited as user.limits)",
        params: UserIdParams,
        body: UsageOverrideBody,
        response: { 200: UsageView, ...errors },
      },
    },
    async (req) => {
      const b = req.body;
      const cells = new Map(Object.entries(b));
      const override = {
        rate: b.rate,
        burst: b.burst,
        quotas: Object.fromEntries(QUOTA_NAMES.flatMap((name) => (cells.has(name) ? [[name, cells.get(name) as number]] : []))),
      };
      const ctx = { requestId: req.id, ip: req.ip };
      if (b.tier !== undefined) await quotas.setTier("admin", req.params.user_id, b.tier, ctx);
      return presentUsage(await quotas.setOverride("admin", req.params.user_id, override, ctx));
    },
  );
}
