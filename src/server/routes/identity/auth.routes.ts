import type { FastifyInstance } from "fastify";
import type { AuthService } from "../../../core/identity/auth-service.js";
import { iso } from "../../../core/platform/clock.js";
import { ErrorBody } from "../../../protocol/common.js";
import { Challenge, ChallengeBody, SessionToken, VerifyBody } from "../../../protocol/identity.js";

const pub = { auth: "public" } as const;

/** Wallet sign-in: challenge → EIP-191 signature → short-lived session token (SPEC §3). */
export function authRoutes(app: FastifyInstance, deps: { auth: AuthService }): void {
  app.post<{ Body: ChallengeBody }>(
    "/v1/auth/challenge",
    {
      config: pub,
      schema: { tags: ["auth"], summary: "Start a wallet sign-in", body: ChallengeBody, response: { 201: Challenge, 400: ErrorBody } },
    },
    async (req, reply) => {
      const c = await deps.auth.createChallenge(req.body.wallet_address);
      return reply.code(201).send({ nonce: c.nonce, message: c.message, expires_at: iso(c.expiresAt) });
    },
  );

  app.post<{ Body: VerifyBody }>(
    "/v1/auth/verify",
    {
      config: pub,
      schema: {
        tags: ["auth"],
        summary: "Finish a wallet sign-in with the signed message",
        body: VerifyBody,
        response: { 200: SessionToken, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const s = await deps.auth.verifyChallenge(
        { walletAddress: req.body.wallet_address, nonce: req.body.nonce, signature: req.body.signature },
        { requestId: req.id, ip: req.ip },
      );
      return { token: s.token, token_type: "Bearer" as const, user_id: s.userId, golem_id: s.golemId, expires_at: iso(s.expiresAt) };
    },
  );
}
