import type { FastifyInstance } from "fastify";
import type { AuthService } from "../../../core/identity/auth-service.js";
import { iso } from "../../../core/platform/clock.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import {
  Challenge,
  ChallengeBody,
  SessionIdParams,
  SessionList,
  SessionToken,
  SessionView,
  VerifyBody,
} from "../../../protocol/identity.js";
import { userPrincipal } from "../../context.js";
import { presentSession } from "../../presenters/identity.js";

const pub = { auth: "public" } as const;
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/**
 * Wallet sign-in (SPEC §3): challenge → the EIP-4361 message signed with personal_sign →
 * short-lived session token; the caller's sessions listed and ended.
 */
export function authRoutes(app: FastifyInstance, deps: { auth: AuthService }): void {
  app.post<{ Body: ChallengeBody }>(
    "/v1/auth/challenge",
    {
      config: pub,
      schema: {
        tags: ["auth"],
        summary: "Start a wallet sign-in: an EIP-4361 (Sign-In with Ethereum) message to sign",
        body: ChallengeBody,
        response: { 201: Challenge, 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const c = await deps.auth.createChallenge(req.body.wallet_address);
      return reply.code(201).send({ nonce: c.nonce, message: c.message, expires_at: iso(c.expiresAt) });
    },
  );

  app.post<{ Body: VerifyBody }>(
    "/v1/auth/verify",
    {
      config: { ...pub, signIn: true },
      preValidation: async (req) => refuseOutdatedSignIn(req.body),
      schema: {
        tags: ["auth"],
        summary: "Finish a wallet sign-in with the signed EIP-4361 message",
        body: VerifyBody,
        response: { 200: SessionToken, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const s = await deps.auth.verifyChallenge(req.body, { requestId: req.id, ip: req.ip });
      return { token: s.token, token_type: "Bearer" as const, user_id: s.userId, golem_id: s.golemId, expires_at: iso(s.expiresAt) };
    },
  );

  app.get(
    "/v1/auth/sessions",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["auth"],
        summary: "The caller's wallet sessions still valid (a golem credential: its golem's)",
        response: { 200: SessionList, ...errors },
      },
    },
    async (req) => {
      const principal = userPrincipal(req);
      return { sessions: (await deps.auth.listSessions(principal)).map((s) => presentSession(s, principal.credentialId)) };
    },
  );

  app.delete<{ Params: { session_id: string } }>(
    "/v1/auth/sessions/:session_id",
    {
      config: { golemCredential: "own", tenant: [{ from: "params", field: "session_id", kind: "session" }] },
      schema: {
        tags: ["auth"],
        summary: "End a wallet session: its token answers 401 and its sockets close (4401)",
        params: SessionIdParams,
        response: { 200: SessionView, ...errors },
      },
    },
    async (req) => {
      const principal = userPrincipal(req);
      const ended = await deps.auth.endSession(principal, req.params.session_id, { requestId: req.id, ip: req.ip });
      return presentSession(ended, principal.credentialId);
    },
  );
}

/**
 * Refuses the body of a client from before EIP-4361 sign-in (`wallet_address` and `nonce`, no
 * `message`) with what to send instead; validation alone would only call `nonce` unknown.
 */
export function refuseOutdatedSignIn(body: unknown, path = ""): void {
  if (typeof body !== "object" || body === null) return;
  if (Object.hasOwn(body, "nonce") && !Object.hasOwn(body, "message")) {
    throw new StyxError("STYX_AUTH_SIWE_REQUIRED", undefined, { details: [{ path: `${path}/nonce` }] });
  }
}
