import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuthService } from "../../core/identity/auth-service.js";
import type { Tenancy } from "../../core/identity/tenancy.js";
import { BUYER_HEADER, federatedBuyerRef } from "../../core/marketplace/buyer.js";
import type { AuthAttempt } from "../../core/platform/auth-failures.js";
import { StyxError } from "../../core/platform/errors.js";
import { BEARER_HINT, bearerToken, requireScope } from "../admission.js";
import type { AuthFailureAudit } from "../auth-failures.js";
import { toStyxError } from "../presenters/errors.js";
import { identityLimit, isRead, type LimitsOptions } from "./limits.js";

/**
 * Authentication, scopes and tenancy for every route, driven by route config:
 * `auth` (public | user | admin, default user), `scope`, `golemCredential` (own | owner-only,
 * unset = owner-only) and `tenant` rules. This is the one place where a request's identity and
 * its right to the ids it names are decided. Every error a request ends with goes past
 * `failures`, which audits the failed authentications among them (bad or missing credentials,
 * admin-token guesses, user keys on admin routes, failed wallet sign-ins).
 */
export function registerAuth(
  app: FastifyInstance,
  deps: { auth: AuthService; tenancy: Tenancy; limits: LimitsOptions; failures: Pick<AuthFailureAudit, "refused"> },
): void {
  app.decorateRequest("principal", undefined);
  app.decorateRequest("golems", null);
  app.decorateRequest("buyerRef", undefined);

  app.addHook("onRequest", async (req) => {
    const mode = req.is404 ? "public" : (req.routeOptions.config.auth ?? "user");
    if (mode === "public") return;
    const principal = await deps.auth.authenticate(bearer(req));
    req.principal = principal;
    await identityLimit(deps.limits, req);
    if (mode === "admin") {
      if (principal.kind !== "admin") throw new StyxError("STYX_AUTH_FORBIDDEN", "This route needs the admin token.");
      return;
    }
    if (principal.kind !== "user") throw new StyxError("STYX_AUTH_FORBIDDEN", "This route needs a user API key or session.");
    // A marketplace buyer route: a federate key buys for the downstream user it names (SPEC §17.2 item 4), in place of read/write.
    if (req.routeOptions.config.federatedBuyer) req.buyerRef = federatedBuyerRef(principal, req.headers[BUYER_HEADER]);
    if (req.buyerRef === undefined) {
      const scope = req.routeOptions.config.scope ?? (isRead(req) ? "read" : "write");
      requireScope(principal, scope);
      // A federate key is a linked Styx's (SPEC §17): it speaks federation (and buys for its buyers), whatever else it was given.
      if (scope !== "federate" && principal.scopes.includes("federate") && !req.routeOptions.config.federateKey)
        throw new StyxError("STYX_AUTH_FORBIDDEN", "A federate key calls only the federation routes.");
    }
    if (req.routeOptions.config.golemCredential !== "own") deps.tenancy.ownerOnly(principal);
  });

  app.addHook("onError", async (req, _reply, err) => {
    deps.failures.refused("http", req.ip, toStyxError(err).code, attemptOf(req));
  });

  app.addHook("preHandler", async (req) => {
    const rules = req.routeOptions.config.tenant;
    const principal = req.principal;
    if (!rules || !principal) return;
    const ctx = { requestId: req.id, ip: req.ip };
    for (const rule of rules) {
      const source = req[rule.from] as Record<string, unknown> | undefined;
      const value = source?.[rule.field];
      const ids = rule.each
        ? Array.isArray(value)
          ? [...new Set(value.map((item) => (item as Record<string, unknown> | null)?.[rule.each as string]))]
          : []
        : [value];
      for (const id of ids) {
        if (typeof id !== "string") continue;
        if (rule.kind === "user") {
          await deps.tenancy.user(principal, id, ctx);
        } else if (rule.kind === "session") {
          await deps.tenancy.session(principal, id, ctx);
        } else if (!req.golems?.has(id)) {
          req.golems ??= new Map();
          const golem = await deps.tenancy.golem(principal, id, ctx);
          req.golems.set(id, rule.acts ? await deps.tenancy.acting(golem) : golem);
        }
      }
    }
  });
}

/** The bearer token of a request, if any: the header, or `?token=` on a route that allows it (`queryToken`). */
function bearer(req: FastifyRequest): string | undefined {
  const token = bearerToken(req.headers.authorization);
  if (token === null) throw new StyxError("STYX_AUTH_REQUIRED", BEARER_HINT);
  if (token === undefined && req.routeOptions.config.queryToken) {
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    return typeof q === "string" && q !== "" ? q : undefined;
  }
  return token;
}

/** What a request was, for the failure reason of its error: an admin route, a wallet sign-in, or other. */
function attemptOf(req: FastifyRequest): AuthAttempt {
  if (req.is404) return "other";
  const config = req.routeOptions.config;
  return config.auth === "admin" ? "admin" : config.signIn ? "sign_in" : "other";
}
