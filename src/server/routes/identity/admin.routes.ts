import type { FastifyInstance } from "fastify";
import type { IdentityService } from "../../../core/identity/identity-service.js";
import type { SpendLimitStore } from "../../../core/payments/credit.js";
import type { Clock } from "../../../core/platform/clock.js";
import { ErrorBody, KeyIdParams, UserIdParams } from "../../../protocol/common.js";
import { CreatedKey, CreatedUser, CreateKeyBody, CreateUserBody, KeyList, KeyView } from "../../../protocol/identity.js";
import { presentKey } from "../../presenters/identity.js";
import { setSpendLimit } from "../payments/payments.routes.js";

const admin = { auth: "admin" } as const;
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** User and key management with the admin token (SPEC §3). Every action is audited as `admin`. */
export function adminRoutes(
  app: FastifyInstance,
  deps: { identity: IdentityService; clock: Clock; limits: SpendLimitStore | undefined },
): void {
  const { identity, clock } = deps;

  app.post<{ Body: CreateUserBody }>(
    "/v1/admin/users",
    {
      config: admin,
      schema: { tags: ["admin"], summary: "Create a user", body: CreateUserBody, response: { 201: CreatedUser, ...errors } },
    },
    async (req, reply) => {
      const user = await identity.createUser(
        "admin",
        { id: req.body.id, walletAddress: req.body.wallet_address, tier: req.body.tier },
        { requestId: req.id, ip: req.ip },
      );
      return reply.code(201).send({ id: user.id });
    },
  );

  app.post<{ Params: { user_id: string }; Body: CreateKeyBody }>(
    "/v1/admin/users/:user_id/keys",
    {
      config: admin,
      schema: {
        tags: ["admin"],
        summary: "Issue an API key (the secret is shown once)",
        params: UserIdParams,
        body: CreateKeyBody,
        response: { 201: CreatedKey, ...errors },
      },
    },
    async (req, reply) => {
      const { key, secret } = await identity.createKey(
        "admin",
        req.params.user_id,
        {
          name: req.body.name,
          scopes: req.body.scopes,
          golemId: req.body.golem_id,
          expiresAt: req.body.expires_at === undefined ? undefined : Date.parse(req.body.expires_at),
        },
        { requestId: req.id, ip: req.ip },
      );
      // SPEC §11.4: a key may be born with spend limits.
      if (req.body.spend_limit !== undefined) await setSpendLimit({ limits: deps.limits, clock }, key.id, req.body.spend_limit);
      return reply.code(201).send({ id: key.id, key: secret });
    },
  );

  app.get<{ Params: { user_id: string } }>(
    "/v1/admin/users/:user_id/keys",
    {
      config: admin,
      schema: { tags: ["admin"], summary: "List a user's keys", params: UserIdParams, response: { 200: KeyList, ...errors } },
    },
    async (req) => {
      const keys = await identity.listKeys("admin", req.params.user_id, { requestId: req.id, ip: req.ip });
      const now = clock.now();
      return { keys: keys.map((k) => presentKey(k, now)) };
    },
  );

  app.delete<{ Params: { key_id: string } }>(
    "/v1/admin/keys/:key_id",
    { config: admin, schema: { tags: ["admin"], summary: "Revoke a key", params: KeyIdParams, response: { 200: KeyView, ...errors } } },
    async (req) => presentKey(await identity.revokeKey("admin", req.params.key_id, { requestId: req.id, ip: req.ip }), clock.now()),
  );
}
