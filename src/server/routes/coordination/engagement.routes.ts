import type { FastifyInstance } from "fastify";
import type { AchievementService } from "../../../core/coordination/achievements.js";
import type { DeathStore } from "../../../core/coordination/death.js";
import { lineageForest } from "../../../core/coordination/engagement.js";
import { type PulseService, pulseJson } from "../../../core/coordination/pulse-service.js";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import { ErrorBody, GolemIdParams, UserIdParams } from "../../../protocol/common.js";
import { AchievementsAnswer, GraveyardAnswer, GraveyardQuery, LineageAnswer, PulseAnswer } from "../../../protocol/coordination.js";
import { presentAchievement, presentGrave, presentLineage } from "../../presenters/coordination.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const ownUser = [{ from: "params", field: "user_id", kind: "user" }] as const;

/** Lineage, graveyard, achievements and the public pulse (SPEC §8). */
export function engagementRoutes(
  app: FastifyInstance,
  deps: {
    identity: Pick<IdentityStore, "listGolems">;
    deaths: Pick<DeathStore, "graveyard">;
    achievements: AchievementService;
    pulse: PulseService;
  },
): void {
  app.get<{ Params: { user_id: string } }>(
    "/v1/styx/lineage/:user_id",
    {
      config: { golemCredential: "owner-only", tenant: ownUser },
      schema: {
        tags: ["engagement"],
        summary: "The user's golems as a forest (parent → children)",
        params: UserIdParams,
        response: { 200: LineageAnswer, ...errors },
      },
    },
    async (req) => ({
      user_id: req.params.user_id,
      roots: lineageForest(await deps.identity.listGolems(req.params.user_id)).map(presentLineage),
    }),
  );

  app.get<{ Params: { user_id: string }; Querystring: GraveyardQuery }>(
    "/v1/styx/graveyard/:user_id",
    {
      config: { golemCredential: "owner-only", tenant: ownUser },
      schema: {
        tags: ["engagement"],
        summary: "The user's dead golems with their death records, newest first, paged",
        params: UserIdParams,
        querystring: GraveyardQuery,
        response: { 200: GraveyardAnswer, ...errors },
      },
    },
    async (req) => graveyardPage(deps.deaths, req.params.user_id, req.query),
  );

  app.get<{ Params: { golem_id: string } }>(
    "/v1/styx/achievements/:golem_id",
    {
      config: { golemCredential: "own", tenant: [{ from: "params", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["engagement"],
        summary: "The golem's unlocked achievements, oldest first",
        params: GolemIdParams,
        response: { 200: AchievementsAnswer, ...errors },
      },
    },
    async (req) => ({
      golem_id: req.params.golem_id,
      achievements: (await deps.achievements.list(req.params.golem_id)).map(presentAchievement),
    }),
  );

  app.get(
    "/v1/styx/pulse",
    {
      config: { auth: "public" },
      schema: {
        tags: ["engagement"],
        summary: "The ecosystem pulse (recomputed every 60 s)",
        response: { 200: PulseAnswer, 400: ErrorBody },
      },
    },
    async () => pulseJson(await deps.pulse.current()),
  );
}

/** A page of a user's graveyard, newest first, as answered (HTTP and MCP `graveyard`). */
export async function graveyardPage(deaths: Pick<DeathStore, "graveyard">, userId: string, q: GraveyardQuery) {
  const limit = q.limit ?? 20;
  const cursor = q.cursor;
  const dot = cursor?.indexOf(".") ?? -1;
  const after = cursor && dot > 0 ? { diedAt: Number(cursor.slice(0, dot)), golemId: cursor.slice(dot + 1) } : undefined;
  const page = await deaths.graveyard(userId, limit + 1, after);
  const shown = page.slice(0, limit);
  const last = shown.at(-1);
  return {
    user_id: userId,
    golems: shown.map(presentGrave),
    next_cursor: page.length > limit && last ? `${last.diedAt}.${last.golemId}` : null,
  };
}
