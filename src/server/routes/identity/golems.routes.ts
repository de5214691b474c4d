import type { FastifyInstance } from "fastify";
import type { DeathStore } from "../../../core/coordination/death.js";
import type { AuthService } from "../../../core/identity/auth-service.js";
import type { IdentityService } from "../../../core/identity/identity-service.js";
import type { Clock } from "../../../core/platform/clock.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody, GolemIdParams, UserIdParams } from "../../../protocol/common.js";
import { GolemDetailView, GolemList, RegisteredGolem, RegisterGolemBody, UserView, WhoAmI } from "../../../protocol/identity.js";
import { tenantGolem, userPrincipal } from "../../context.js";
import { presentGolem, presentGolemDetail, presentUser } from "../../presenters/identity.js";
import { refuseOutdatedSignIn } from "./auth.routes.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Golem registration and the caller's own identity views. */
export function golemRoutes(
  app: FastifyInstance,
  deps: { identity: IdentityService; auth: AuthService; deaths: Pick<DeathStore, "find">; clock: Clock },
): void {
  const { identity } = deps;

  app.post<{ Body: RegisterGolemBody }>(
    "/v1/styx/golems",
    {
      config: { golemCredential: "owner-only", tenant: [{ from: "body", field: "parent_golem_id", kind: "golem" }] },
      preValidation: async (req) => refuseOutdatedSignIn((req.body as { wallet_proof?: unknown } | null)?.wallet_proof, "/wallet_proof"),
      schema: {
        tags: ["identity"],
        summary: "Register a golem (generation = parent's + 1)",
        body: RegisterGolemBody,
        response: { 201: RegisteredGolem, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (b.wallet_address !== undefined && b.wallet_proof === undefined) {
        throw new StyxError(
          "STYX_VALIDATION",
          "wallet_address needs wallet_proof: sign a /v1/auth/challenge for it with the golem's wallet.",
          {
            details: [{ path: "/wallet_proof" }],
          },
        );
      }
      if (b.wallet_address !== undefined && b.wallet_proof !== undefined) {
        await deps.auth.proveWallet(b.wallet_proof, b.wallet_address);
      }
      const golem = await identity.registerGolem(
        userPrincipal(req),
        {
          id: b.id,
          parent: b.parent_golem_id === undefined ? undefined : tenantGolem(req, b.parent_golem_id),
          archetype: b.archetype,
          walletAddress: b.wallet_address,
        },
        { requestId: req.id, ip: req.ip },
      );
      return reply.code(201).send({ id: golem.id, generation: golem.generation });
    },
  );

  app.get<{ Params: { golem_id: string } }>(
    "/v1/styx/golems/:golem_id",
    {
      config: { golemCredential: "own", tenant: [{ from: "params", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["identity"],
        summary: "One of the caller's golems: its age and, once dead, lifespan, final heartbeat and the bloodstain's domains",
        params: GolemIdParams,
        response: { 200: GolemDetailView, ...errors },
      },
    },
    async (req) => {
      const g = tenantGolem(req, req.params.golem_id);
      const death = g.status === "dead" ? await deps.deaths.find(g.id) : undefined;
      return presentGolemDetail(g, death, deps.clock.now());
    },
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/users/:user_id",
    {
      config: { golemCredential: "owner-only", tenant: [{ from: "params", field: "user_id", kind: "user" }] },
      schema: { tags: ["identity"], summary: "The caller's user record", params: UserIdParams, response: { 200: UserView, ...errors } },
    },
    async (req) => presentUser(await identity.getUser(req.params.user_id)),
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/users/:user_id/golems",
    {
      config: { golemCredential: "owner-only", tenant: [{ from: "params", field: "user_id", kind: "user" }] },
      schema: { tags: ["identity"], summary: "The caller's golems", params: UserIdParams, response: { 200: GolemList, ...errors } },
    },
    async (req) => ({ golems: (await identity.listGolems(req.params.user_id)).map(presentGolem) }),
  );

  app.get(
    "/v1/styx/me",
    {
      config: { golemCredential: "own" },
      schema: { tags: ["identity"], summary: "Who this credential is", response: { 200: WhoAmI, 401: ErrorBody } },
    },
    async (req) => {
      const p = userPrincipal(req);
      return { user_id: p.userId, golem_id: p.golemId, credential: { id: p.credentialId, via: p.via, scopes: [...p.scopes] } };
    },
  );
}
